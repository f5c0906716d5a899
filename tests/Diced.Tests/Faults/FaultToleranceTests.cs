using Diced.Datastore.Types;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;

namespace Diced.Tests.Faults;

/// <summary>The datastore over a backend that fails calls at random (before or after they take effect), with retries.</summary>
public class FaultToleranceTests
{
    [Fact]
    public async Task A_server_that_cannot_reread_shared_metadata_refuses_versioned_writes_until_it_can()
    {
        var faulty = new FaultInjectingKeyValueStore(new MemoryKeyValueStore(), failBefore: 1.0, failAfter: 0, seed: 1) { Shared = true, Enabled = false };
        var ds = await Diced.Datastore.Datastore.OpenAsync(faulty, DataTypeRegistry.Default());
        await using var _ = ds;
        var repo = await ds.CreateRepoAsync("fence", "");
        var root = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        var kv = new KeyValueData(ds.DataAt(root, inst));
        await kv.PutAsync("before", new byte[] { 1 });
        faulty.Enabled = true; // every refresh now fails: another server's commit could go unseen
        await Task.Delay(Diced.Datastore.Versioning.WriteFence.Window + TimeSpan.FromMilliseconds(500));
        var e = await Assert.ThrowsAsync<Diced.Datastore.DatastoreException>(async () => await kv.PutAsync("stale", new byte[] { 2 }));
        Assert.Equal(Diced.Datastore.ErrorKind.Unavailable, e.Kind);
        faulty.Enabled = false;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try { await kv.PutAsync("after", new byte[] { 3 }); break; }
            catch (Diced.Datastore.DatastoreException) when (sw.Elapsed < TimeSpan.FromSeconds(5)) { await Task.Delay(100); }
        }
        faulty.Enabled = false;
        Assert.Null(await faulty.GetAsync(Array.Empty<byte>())); // (the store answers again)
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Flaky_backend_loses_nothing_and_duplicates_nothing(int seed)
    {
        var faulty = new FaultInjectingKeyValueStore(new MemoryKeyValueStore(), failBefore: 0.15, failAfter: 0.15, seed);
        await using var store = new RetryingKeyValueStore(faulty, maxAttempts: 30, firstDelay: TimeSpan.FromMilliseconds(1));
        var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("flaky", "");
        var root = ds.Resolve(repo.Root);
        var kv = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        var img = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "uint8blk", ["dataname"] = "img", ["blocksize"] = "8,8,8" });
        // Concurrent metadata changes and data writes.
        await Task.WhenAll(
            Task.Run(async () => { for (int i = 0; i < 30; i++) await ds.AppendRepoLogAsync(repo, [$"line {i}"]); }),
            Task.Run(async () => { for (int i = 0; i < 60; i++) await new KeyValueData(ds.DataAt(root, kv)).PutAsync($"k{i}", BitConverter.GetBytes(i)); }),
            Task.Run(async () =>
            {
                var vol = ds.ImageVolumeOf(ds.DataAt(root, img));
                for (int i = 0; i < 8; i++) await vol.WriteAsync(new(new(i, 0, 0), new(1, 16, 16)), Enumerable.Repeat((byte)(i + 1), 256).ToArray());
            }));
        await ds.CommitAsync(ds.Resolve(repo.Root), "done", null);
        var child = await ds.NewVersionAsync(ds.Resolve(repo.Root), null, null);
        faulty.Enabled = false;
        Assert.True(faulty.Injected > 20, $"only {faulty.Injected} faults were injected");

        // Reopen from the same backend and check everything, exactly once.
        var again = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var r = again.Resolve(repo.Root);
        Assert.True(r.Node.Locked);
        var lines = r.Repo.State.Log.Where(l => l.Contains("  line ")).ToList();
        Assert.Equal(30, lines.Count);
        Assert.Equal(lines.Count, lines.Select(l => l[(l.IndexOf("  ") + 2)..]).Distinct().Count());
        var data = new KeyValueData(again.DataAt(r, again.GetInstance(r, "kv")));
        for (int i = 0; i < 60; i++) Assert.Equal(BitConverter.GetBytes(i), await data.GetAsync($"k{i}"));
        var voxels = await again.ImageVolumeOf(again.DataAt(r, again.GetInstance(r, "img"))).ReadAllAsync(new(new(0, 0, 0), new(8, 16, 16)));
        for (int v = 0; v < voxels.Length; v++) Assert.Equal(v % 8 + 1, voxels[v]);
        Assert.Equal(2, r.Repo.State.Nodes.Count);
        Assert.False(again.Resolve(child).Node.Locked);
    }

    [Fact]
    public async Task A_backend_that_stays_down_gives_a_clear_error_not_a_hang()
    {
        var faulty = new FaultInjectingKeyValueStore(new MemoryKeyValueStore(), failBefore: 1.0, failAfter: 0, 3) { Enabled = false };
        await using var store = new RetryingKeyValueStore(faulty, maxAttempts: 3, firstDelay: TimeSpan.FromMilliseconds(1));
        var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("down", "");
        faulty.Enabled = true;
        await Assert.ThrowsAsync<TransientStoreException>(() => ds.AppendRepoLogAsync(repo, ["x"]));
    }
}

/// <summary>Conditional batches on an object store whose requests fail at random (issue 11 review: a batch that failed
/// part-way was retried whole and double-applied).</summary>
public class ObjectStoreBatchFaultTests
{
    [Fact]
    public async Task Conditional_batches_under_request_failures_apply_each_change_exactly_once_and_leave_no_journal()
    {
        var store = new FlakyObjectStore(failBefore: 0.05, failAfter: 0.05, seed: 7);
        byte[] A = [20], B = [21];
        store.Failing = false;
        await store.WriteAsync(new WriteBatch().Put(A, BitConverter.GetBytes(0)).Put(B, BitConverter.GetBytes(0)));
        store.Failing = true;
        int committed = 0, inDoubt = 0;
        var turn = new SemaphoreSlim(1, 1); // the data model serialises transactions on the same keys within a server
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 15; i++)
            {
                while (true)
                {
                    await turn.WaitAsync();
                    try
                    {
                        var a = (await store.GetTaggedAsync(A))!;
                        var b = (await store.GetTaggedAsync(B))!;
                        var batch = new WriteBatch()
                            .Put(A, BitConverter.GetBytes(BitConverter.ToInt32(a.Value) + 1))
                            .Put(B, BitConverter.GetBytes(BitConverter.ToInt32(b.Value) + 1))
                            .Expect(A, a.Tag, a.Value).Expect(B, b.Tag, b.Value);
                        if (await store.TryWriteAsync(batch)) { Interlocked.Increment(ref committed); break; }
                    }
                    catch (TransientStoreException) { Interlocked.Increment(ref inDoubt); } // retries inside ran out
                    finally { turn.Release(); }
                }
            }
        })));
        store.Failing = false;
        await store.ReplayAsync(); // what a restart would do with journals left behind
        Assert.True(store.Injected > 10, $"only {store.Injected} failures were injected");
        Assert.Equal(60, committed);
        int a = BitConverter.ToInt32((await store.GetAsync(A))!), b = BitConverter.ToInt32((await store.GetAsync(B))!);
        Assert.Equal(a, b);   // the two keys always moved together
        Assert.InRange(a, 60, 60 + inDoubt); // every committed change counted once (a batch whose answer was lost may count too)
        Assert.Empty(store.Names("flaky/t/"));
    }
}
