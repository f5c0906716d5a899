using Diced.Storage;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Storage;

public class MemoryStoreTests : KeyValueStoreContract
{
    protected override Task<IKeyValueStore> OpenAsync(string location) => Task.FromResult<IKeyValueStore>(new MemoryKeyValueStore());
    protected override bool Persistent => false;
}

/// <summary>The same contract against the GCS JSON API (a local stand-in of it).</summary>
[Collection(GcsCollection.Name)]
public class GcsStoreTests(GcsStandIn gcs) : KeyValueStoreContract
{
    protected override async Task<IKeyValueStore> OpenAsync(string location) => await gcs.OpenStoreAsync(Path.GetFileName(location));
    protected override bool Persistent => true;
}

/// <summary>The same contract against a real S3 service (Ceph radosgw); the location names a prefix in the test bucket.</summary>
[Collection(RadosGwCollection.Name)]
public class S3StoreTests(RadosGwFixture rgw) : KeyValueStoreContract
{
    protected override async Task<IKeyValueStore> OpenAsync(string location) => await rgw.OpenStoreAsync(Path.GetFileName(location));
    protected override bool Persistent => true;

    [Fact]
    public async Task Interrupted_batches_are_completed_when_the_store_opens()
    {
        var prefix = $"journal-{Guid.NewGuid():N}";
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            await s.PutAsync(new byte[] { 1 }, new byte[] { 1 });
            // A journal written by a process that died before applying it.
            await rgw.PutRawAsync($"{prefix}/t/00000000000000000-dead",
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new[]
                {
                    new { K = Convert.ToBase64String(new byte[] { 1 }), V = (string?)null },
                    new { K = Convert.ToBase64String(new byte[] { 2 }), V = (string?)Convert.ToBase64String(new byte[] { 22 }) },
                }));
        }
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            Assert.Null(await s.GetAsync(new byte[] { 1 }));
            Assert.Equal(new byte[] { 22 }, await s.GetAsync(new byte[] { 2 }));
        }
    }

    /// <summary>Issue 17: a volume write clears a tombstone name beside each block; those deletes go out as one batch
    /// delete, not a request each (a 256³ write took 133 requests, now 70).</summary>
    [Fact]
    public async Task A_batch_deletes_its_objects_with_one_request()
    {
        await using var s = await rgw.OpenStoreAsync($"deletes-{Guid.NewGuid():N}");
        var puts = new WriteBatch();
        for (byte i = 0; i < 20; i++) puts.Put([4, i], [i]);
        await s.WriteAsync(puts);
        var deletes = new WriteBatch().Put([5], [5]);
        for (byte i = 0; i < 20; i++) deletes.Delete([4, i]);
        long before = s.RequestCount;
        await s.WriteAsync(deletes);
        Assert.True(s.RequestCount - before <= 4, $"{s.RequestCount - before} requests: journal, put, batch delete, journal removal expected");
        Assert.Null(await s.GetAsync(new byte[] { 4, 7 }));
        Assert.Equal(new byte[] { 5 }, await s.GetAsync(new byte[] { 5 }));
    }

    /// <summary>Issue 17: a bulk batch into fresh names is journalled for undo with hashes instead of its bytes; a crash
    /// before its journal is removed deletes what it wrote (and keeps another writer's later value).</summary>
    [Fact]
    public async Task Fresh_bulk_batches_are_rolled_back_after_a_crash_and_their_journal_holds_no_data()
    {
        var prefix = $"fresh-{Guid.NewGuid():N}";
        string Sha(byte[] v) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(v));
        var big = Enumerable.Repeat((byte)7, 300_000).ToArray();
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            var batch = new WriteBatch();
            for (byte i = 0; i < 8; i++) batch.Put([9, i], big);
            long before = s.RequestCount, bytesBefore = s.BytesPut;
            await s.WriteAsync(batch);
            Assert.True(s.RequestCount - before <= 12, $"{s.RequestCount - before} requests for 8 fresh objects");
            long sent = s.BytesPut - bytesBefore;
            Assert.True(sent < 8 * 300_000 + 16_384, $"{sent} bytes sent for 8 x 300,000 bytes: the journal holds data");
            Assert.Equal(big, await s.GetAsync(new byte[] { 9, 3 }));

            // What a writer that died mid-batch leaves: its undo journal, one object it wrote, one another writer has
            // written since; the third it never reached.
            await s.PutAsync(new byte[] { 1 }, big);
            await s.PutAsync(new byte[] { 2 }, new byte[] { 2 });
            await rgw.PutRawAsync($"{prefix}/t/00000000000000000-fresh",
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
                {
                    Ops = (object?)null,
                    Undo = new[]
                    {
                        new { Name = $"{prefix}/k/01", Old = (string?)null, New = (string?)null, Sha = Sha(big) },
                        new { Name = $"{prefix}/k/02", Old = (string?)null, New = (string?)null, Sha = Sha(big) },
                        new { Name = $"{prefix}/k/03", Old = (string?)null, New = (string?)null, Sha = Sha(big) },
                    },
                }));
        }
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            Assert.Null(await s.GetAsync(new byte[] { 1 }));                     // written by the dead batch: removed
            Assert.Equal(new byte[] { 2 }, await s.GetAsync(new byte[] { 2 })); // another writer's value is kept
            Assert.Null(await s.GetAsync(new byte[] { 3 }));
            Assert.Equal(big, await s.GetAsync(new byte[] { 9, 3 }));           // the acknowledged batch stays
        }
    }

    /// <summary>An undo journal younger than a minute may be another server's batch in flight: an opening store leaves it.</summary>
    [Fact]
    public async Task A_young_undo_journal_is_left_to_its_writer()
    {
        var prefix = $"young-{Guid.NewGuid():N}";
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            await s.PutAsync(new byte[] { 1 }, new byte[] { 1 });
            await rgw.PutRawAsync($"{prefix}/t/{DateTime.UtcNow:yyyyMMddHHmmssfff}-inflight",
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
                {
                    Ops = (object?)null,
                    Undo = new[] { new { Name = $"{prefix}/k/01", Old = (string?)null, New = (string?)Convert.ToBase64String(new byte[] { 1 }) } },
                }));
        }
        await using (var s = await rgw.OpenStoreAsync(prefix))
            Assert.Equal(new byte[] { 1 }, await s.GetAsync(new byte[] { 1 }));
    }

    [Fact]
    public async Task Abandoned_conditional_batches_are_rolled_back_when_the_store_opens()
    {
        var prefix = $"journal-{Guid.NewGuid():N}";
        string B64(params byte[] b) => Convert.ToBase64String(b);
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            // A writer died before its batch was decided, having written keys 1 and 3; key 2 it never wrote, and
            // another writer has written it since.
            await s.PutAsync(new byte[] { 1 }, new byte[] { 11 });
            await s.PutAsync(new byte[] { 2 }, new byte[] { 22 });
            await s.PutAsync(new byte[] { 3 }, new byte[] { 3 });
            await rgw.PutRawAsync($"{prefix}/t/00000000000000000-undo",
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
                {
                    Ops = (object?)null,
                    Undo = new[]
                    {
                        new { Name = $"{prefix}/k/01", Old = (string?)B64(1), New = (string?)B64(11) },
                        new { Name = $"{prefix}/k/02", Old = (string?)null, New = (string?)B64(2) },
                        new { Name = $"{prefix}/k/03", Old = (string?)null, New = (string?)B64(3) },
                    },
                }));
        }
        await using (var s = await rgw.OpenStoreAsync(prefix))
        {
            Assert.Equal(new byte[] { 1 }, await s.GetAsync(new byte[] { 1 }));  // restored
            Assert.Equal(new byte[] { 22 }, await s.GetAsync(new byte[] { 2 })); // another writer's value is kept
            Assert.Null(await s.GetAsync(new byte[] { 3 }));                     // created by the dead batch: removed
        }
    }

    [Fact]
    public async Task Scans_page_through_more_than_one_listing()
    {
        await using var s = await rgw.OpenStoreAsync($"paging-{Guid.NewGuid():N}");
        var batch = new WriteBatch();
        for (int i = 0; i < 2100; i++) batch.Put(BitConverter.GetBytes(i).Reverse().ToArray(), [(byte)i]);
        await s.WriteAsync(batch);
        int n = 0, last = -1;
        await foreach (var kv in s.ScanAsync(BitConverter.GetBytes(5).Reverse().ToArray(), BitConverter.GetBytes(2050).Reverse().ToArray()))
        {
            int k = BitConverter.ToInt32(kv.Key.Reverse().ToArray());
            Assert.Equal(last + 1 == 0 ? 5 : last + 1, k);
            Assert.Equal((byte)k, kv.Value[0]);
            last = k;
            n++;
        }
        Assert.Equal(2045, n);
    }
}
