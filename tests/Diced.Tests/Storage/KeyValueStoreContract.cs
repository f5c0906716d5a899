using Diced.Storage;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Storage;

/// <summary>The behaviour every ordered key-value backend must have; each backend runs this suite.</summary>
public abstract class KeyValueStoreContract
{
    /// <summary>Opens the backend at <paramref name="location"/> (reopening the same location sees the same data, where persistent).</summary>
    protected abstract Task<IKeyValueStore> OpenAsync(string location);

    protected abstract bool Persistent { get; }

    private static byte[] B(params byte[] b) => b;

    private static async Task<List<KeyValue>> All(IKeyValueStore s, byte[] start, byte[] end, bool keysOnly = false)
    {
        var list = new List<KeyValue>();
        await foreach (var kv in s.ScanAsync(start, end, keysOnly)) list.Add(kv);
        return list;
    }

    [Fact]
    public async Task Put_get_delete()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            Assert.Null(await s.GetAsync(B(1)));
            await s.PutAsync(B(1), B(10, 11));
            Assert.Equal(B(10, 11), await s.GetAsync(B(1)));
            await s.PutAsync(B(1), B(12));
            Assert.Equal(B(12), await s.GetAsync(B(1)));
            await s.PutAsync(B(2), Array.Empty<byte>());
            Assert.Equal(Array.Empty<byte>(), await s.GetAsync(B(2)));
            await s.DeleteAsync(B(1));
            await s.DeleteAsync(B(99));
            Assert.Null(await s.GetAsync(B(1)));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Scans_are_ordered_bytewise_with_exclusive_end()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            byte[][] keys = [B(0x01), B(0x01, 0x00), B(0x01, 0xFF), B(0x02), B(0x80), B(0xFF, 0xFF)];
            foreach (var k in keys.Reverse()) await s.PutAsync(k, k);
            var all = await All(s, [], []);
            Assert.Equal(keys, all.Select(kv => kv.Key).ToArray());
            Assert.All(all, kv => Assert.Equal(kv.Key, kv.Value));
            var mid = await All(s, B(0x01, 0x00), B(0x80));
            Assert.Equal([B(0x01, 0x00), B(0x01, 0xFF), B(0x02)], mid.Select(kv => kv.Key).ToArray());
            var keysOnly = await All(s, B(0x01), KeyOrder.PrefixEnd(B(0x01)), keysOnly: true);
            Assert.Equal(3, keysOnly.Count);
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Size_scans_list_the_same_keys_with_each_values_length()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            byte[][] keys = [B(0x01), B(0x01, 0x00), B(0x02), B(0x03, 0x07), B(0x80)];
            for (int i = 0; i < keys.Length; i++) await s.PutAsync(keys[i], new byte[i * 1000 + (i == 0 ? 0 : 3)]);
            var sizes = new List<KeySize>();
            await foreach (var ks in s.ScanSizesAsync(B(0x01, 0x00), B(0x80))) sizes.Add(ks);
            var values = await All(s, B(0x01, 0x00), B(0x80));
            Assert.Equal(values.Select(v => v.Key).ToArray(), sizes.Select(k => k.Key).ToArray());
            Assert.Equal(values.Select(v => (long)v.Value.Length), sizes.Select(k => k.Size));
            Assert.Equal([1003L, 2003, 3003], sizes.Select(k => k.Size));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Batches_apply_puts_and_deletes_in_order()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            await s.PutAsync(B(5), B(5));
            var batch = new WriteBatch().Put(B(1), B(1)).Put(B(2), B(2)).Delete(B(5)).Put(B(3), B(3)).Delete(B(3));
            await s.WriteAsync(batch);
            Assert.Equal([B(1), B(2)], (await All(s, [], [])).Select(kv => kv.Key).ToArray());
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Delete_range_removes_exactly_the_range()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            for (byte i = 0; i < 10; i++) await s.PutAsync(B(1, i), B(i));
            await s.PutAsync(B(2), B(2));
            await s.DeleteRangeAsync(B(1, 3), B(1, 7));
            Assert.Equal(new byte[] { 0, 1, 2, 7, 8, 9 }, (await All(s, B(1), B(2))).Select(kv => kv.Key[1]).ToArray());
            await s.DeleteRangeAsync(B(1), Array.Empty<byte>());
            Assert.Empty(await All(s, [], []));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Conditional_puts_succeed_only_against_the_expected_tag()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            var tag1 = await s.PutIfAsync(B(7), B(1), null);
            Assert.NotNull(tag1);
            Assert.Null(await s.PutIfAsync(B(7), B(2), null));       // exists already
            Assert.Null(await s.PutIfAsync(B(7), B(2), "\"bogus\"")); // wrong tag
            var tag2 = await s.PutIfAsync(B(7), B(2), tag1);
            Assert.NotNull(tag2);
            Assert.Equal(B(2), await s.GetAsync(B(7)));
            var tagged = await s.GetTaggedAsync(B(7));
            Assert.Equal(tag2, tagged!.Tag);
            Assert.Null(await s.PutIfAsync(B(7), B(3), tag1));       // stale tag
            Assert.Equal(B(2), await s.GetAsync(B(7)));
            Assert.Null(await s.GetTaggedAsync(B(8)));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Concurrent_conditional_increments_never_lose_an_update()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            await s.PutIfAsync(B(9), BitConverter.GetBytes(0), null);
            await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                for (int i = 0; i < 8; i++)
                {
                    while (true)
                    {
                        var cur = await s.GetTaggedAsync(B(9));
                        var next = BitConverter.GetBytes(BitConverter.ToInt32(cur!.Value) + 1);
                        if (await s.PutIfAsync(B(9), next, cur.Tag) is not null) break;
                    }
                }
            })));
            Assert.Equal(48, BitConverter.ToInt32((await s.GetAsync(B(9)))!));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Conditional_batches_apply_whole_or_not_at_all()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            await s.PutAsync(B(1), B(10));
            await s.PutAsync(B(3), B(30));
            var t1 = (await s.GetTaggedAsync(B(1)))!.Tag;
            var t3 = (await s.GetTaggedAsync(B(3)))!.Tag;

            // Every condition holds: puts, deletes and unconditional keys all land.
            var ok = new WriteBatch().Put(B(1), B(11)).Delete(B(3)).Put(B(2), B(20)).Put(B(4), B(40))
                .Expect(B(1), t1, B(10)).Expect(B(3), t3, B(30)).Expect(B(2), null, null);
            Assert.True(await s.TryWriteAsync(ok));
            Assert.Equal(B(11), await s.GetAsync(B(1)));
            Assert.Null(await s.GetAsync(B(3)));
            Assert.Equal(B(20), await s.GetAsync(B(2)));
            Assert.Equal(B(40), await s.GetAsync(B(4)));

            // One stale condition (the last in key order, so object stores must undo the earlier ones): nothing changes.
            var t2 = (await s.GetTaggedAsync(B(2)))!.Tag;
            var stale = new WriteBatch().Put(B(1), B(12)).Put(B(2), B(21)).Put(B(5), B(50)).Put(B(9), B(90))
                .Expect(B(1), (await s.GetTaggedAsync(B(1)))!.Tag, B(11)).Expect(B(2), t2, B(20)).Expect(B(9), "bogus", null);
            Assert.False(await s.TryWriteAsync(stale));
            Assert.Equal(B(11), await s.GetAsync(B(1)));
            Assert.Equal(B(20), await s.GetAsync(B(2)));
            Assert.Null(await s.GetAsync(B(5)));
            Assert.Null(await s.GetAsync(B(9)));

            // A key that must be absent but exists.
            Assert.False(await s.TryWriteAsync(new WriteBatch().Put(B(4), B(41)).Put(B(6), B(60)).Expect(B(4), null, null)));
            Assert.Equal(B(40), await s.GetAsync(B(4)));
            Assert.Null(await s.GetAsync(B(6)));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Concurrent_conditional_batches_never_lose_an_update()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            // Object stores give no isolation between concurrent batches (see IKeyValueStore.TryWriteAsync).
            if (s.IsShared) return;
            // Two counters moved together by conditional batches: each batch reads both and adds one to each.
            await s.WriteAsync(new WriteBatch().Put(B(20), BitConverter.GetBytes(0)).Put(B(21), BitConverter.GetBytes(0)));
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                for (int i = 0; i < 5; i++)
                {
                    while (true)
                    {
                        var a = (await s.GetTaggedAsync(B(20)))!;
                        var b = (await s.GetTaggedAsync(B(21)))!;
                        var batch = new WriteBatch()
                            .Put(B(20), BitConverter.GetBytes(BitConverter.ToInt32(a.Value) + 1))
                            .Put(B(21), BitConverter.GetBytes(BitConverter.ToInt32(b.Value) + 1))
                            .Expect(B(20), a.Tag, a.Value).Expect(B(21), b.Tag, b.Value);
                        if (await s.TryWriteAsync(batch)) break;
                    }
                }
            })));
            Assert.Equal(20, BitConverter.ToInt32((await s.GetAsync(B(20)))!));
            Assert.Equal(20, BitConverter.ToInt32((await s.GetAsync(B(21)))!));
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Snapshots_see_the_store_as_it_was()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using var s = await OpenAsync(dir);
            await s.WriteAsync(new WriteBatch().Put(B(1), B(1)).Put(B(2), B(2)));
            using var snapshot = s.OpenSnapshot();
            if (snapshot is null) return; // this backend offers none
            await s.WriteAsync(new WriteBatch().Put(B(1), B(10)).Delete(B(2)).Put(B(3), B(3)));
            Assert.Equal(B(1), await snapshot.GetAsync(B(1)));
            Assert.Equal(B(2), await snapshot.GetAsync(B(2)));
            Assert.Null(await snapshot.GetAsync(B(3)));
            Assert.Equal([B(1), B(2)], (await All(snapshot, [], [])).Select(kv => kv.Key).ToArray());
            Assert.True(await snapshot.ReadAsync(B(1), 0, (span, _) => Assert.Equal(1, span[0])));
            Assert.Equal(B(10), await s.GetAsync(B(1)));
            await Assert.ThrowsAsync<NotSupportedException>(async () => await snapshot.PutAsync(B(4), B(4)));
        }
        finally { TempDir.Delete(dir); }
    }

    /// <summary>Batches of many megabytes (whole volume slabs) may take another path (RocksDB ingests them as a table
    /// file); they must behave exactly like small ones: order within the batch, deletes, snapshots, reopening.</summary>
    [Fact]
    public async Task Large_batches_behave_like_small_ones()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            byte[] Big(byte fill) => Enumerable.Repeat(fill, 256 * 1024).ToArray();
            await using (var s = await OpenAsync(dir))
            {
                await s.WriteAsync(new WriteBatch().Put(B(9, 1), B(1)).Put(B(9, 2), B(2)).Put(B(1), B(1)));
                using var snapshot = s.OpenSnapshot();
                var batch = new WriteBatch();
                for (byte i = 40; i > 10; i--) batch.Put(B(5, i), Big(i)); // 7.5 MiB, keys in descending order
                batch.Put(B(2), B(2)).Put(B(5, 20), Big(200)).Delete(B(9, 1)).Put(B(9, 3), B(3)).Delete(B(9, 3)).Delete(B(5, 30)).Put(B(9, 2), B(22));
                await s.WriteAsync(batch);
                await Check(s);
                if (snapshot is not null)
                {
                    Assert.Null(await snapshot.GetAsync(B(5, 20)));
                    Assert.Equal(B(1), await snapshot.GetAsync(B(9, 1)));
                }
            }
            if (Persistent)
                await using (var s = await OpenAsync(dir)) await Check(s);
        }
        finally { TempDir.Delete(dir); }

        static async Task Check(IKeyValueStore s)
        {
            var keys = (await All(s, B(5), B(6), keysOnly: true)).Select(kv => (int)kv.Key[1]).ToList();
            Assert.Equal(Enumerable.Range(11, 30).Where(i => i != 30).ToList(), keys);
            Assert.Equal(200, (await s.GetAsync(B(5, 20)))![1000]);
            Assert.Equal(11, (await s.GetAsync(B(5, 11)))![256 * 1024 - 1]);
            Assert.Null(await s.GetAsync(B(9, 1)));
            Assert.Null(await s.GetAsync(B(9, 3)));
            Assert.Equal(B(22), await s.GetAsync(B(9, 2)));
            Assert.Equal(B(1), await s.GetAsync(B(1)));
            Assert.Equal(B(2), await s.GetAsync(B(2)));
        }
    }

    [Fact]
    public async Task Data_persists_across_reopen()
    {
        if (!Persistent) return;
        var dir = TempDir.Create("kvc");
        try
        {
            await using (var s = await OpenAsync(dir))
            {
                await s.WriteAsync(new WriteBatch().Put(B(1), B(1)).Put(B(2), new byte[100_000]));
            }
            await using (var s = await OpenAsync(dir))
            {
                Assert.Equal(B(1), await s.GetAsync(B(1)));
                Assert.Equal(100_000, (await s.GetAsync(B(2)))!.Length);
            }
        }
        finally { TempDir.Delete(dir); }
    }
}
