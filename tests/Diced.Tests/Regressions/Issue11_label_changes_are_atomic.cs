using Diced.Datastore;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types;
using Diced.Datastore.Types.Labels;
using Diced.Storage;

namespace Diced.Tests.Regressions;

/// <summary>
/// Issue 11, defects 1 and 2: a cleave or label write interrupted part-way (the process died between two of its
/// store writes) left the mapping changed without the indices, or the indices disagreeing with the voxels.
/// Here the store stops accepting writes after N of them, for every N, and a fresh datastore over what was stored
/// must see the change whole or not at all.
/// </summary>
public class Issue11_label_changes_are_atomic
{
    /// <summary>A store that dies (refuses every write) after a set number of writes.</summary>
    private sealed class DyingStore(IKeyValueStore inner) : IKeyValueStore
    {
        public int WritesLeft = int.MaxValue;
        private void Write() { if (Interlocked.Decrement(ref WritesLeft) < 0) throw new IOException("the process died"); }
        public string Description => "dying " + inner.Description;
        public ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) => inner.GetTaggedAsync(key, ct);
        public ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default) { Write(); return inner.PutIfAsync(key, value, expectedTag, ct); }
        public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) => inner.GetAsync(key, ct);
        public ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default) { Write(); return inner.PutAsync(key, value, ct); }
        public ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) { Write(); return inner.DeleteAsync(key, ct); }
        public ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default) { Write(); return inner.WriteAsync(batch, ct); }
        public ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default) { Write(); return inner.TryWriteAsync(batch, ct); }
        public IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false, CancellationToken ct = default) => inner.ScanAsync(start, end, keysOnly, ct);
        public ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default) { Write(); return inner.DeleteRangeAsync(start, end, ct); }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static async Task<(MemoryKeyValueStore Stored, DyingStore Store, LabelVolume Labels)> SetUpAsync()
    {
        var stored = new MemoryKeyValueStore();
        var store = new DyingStore(stored);
        var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("atomic", "");
        var v = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "labelmap", ["dataname"] = "seg", ["blocksize"] = "8,8,8", ["maxdownreslevel"] = "1" });
        var labels = ds.LabelVolumeOf(ds.DataAt(v, inst));
        // Supervoxels 1..4 in four x-slabs of a 32x8x8 box (four blocks), merged into body 1.
        var voxels = new byte[32 * 8 * 8 * 8];
        var l = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan());
        for (int i = 0; i < l.Length; i++) l[i] = (ulong)(1 + i % 32 / 8);
        await labels.WriteAsync(new Box(new(0, 0, 0), new(32, 8, 8)), voxels);
        await labels.MergeAsync(1, [2, 3, 4]);
        return (stored, store, labels);
    }

    /// <summary>What a restarted server sees: a new datastore over the stored bytes.</summary>
    private static async Task<LabelVolume> ReopenAsync(MemoryKeyValueStore stored)
    {
        var ds = await Diced.Datastore.Datastore.OpenAsync(stored, DataTypeRegistry.Default());
        var repo = ds.Repos.Single();
        var v = ds.Resolve(repo.Root);
        return ds.LabelVolumeOf(ds.DataAt(v, ds.GetInstance(v, "seg")));
    }

    [Fact]
    public async Task A_cleave_interrupted_after_any_write_is_seen_whole_or_not_at_all()
    {
        for (int n = 0; n < 12; n++)
        {
            var (stored, store, labels) = await SetUpAsync();
            store.WritesLeft = n;
            ulong cleaved = 0;
            try { cleaved = (await labels.CleaveAsync(1, [3, 4])).Cleaved; }
            catch (IOException) { }
            var after = await ReopenAsync(stored);
            var mapping = await after.MappingAsync();
            var body1 = await after.GetIndexAsync(1);
            var log = await after.MutationsAsync();
            bool applied = LabelVolume.BodyOf(mapping, 3) != 1;
            Assert.Equal(LabelVolume.BodyOf(mapping, 3), LabelVolume.BodyOf(mapping, 4));
            Assert.Equal(applied ? 1024UL : 2048UL, body1!.VoxelCount);
            Assert.Equal(applied ? 2 : 1, log.Count); // the merge, and the cleave when it applied
            if (applied)
            {
                var other = await after.GetIndexAsync(LabelVolume.BodyOf(mapping, 3));
                Assert.Equal(1024UL, other!.VoxelCount);
                Assert.True(cleaved == 0 || cleaved == LabelVolume.BodyOf(mapping, 3));
            }
        }
    }

    [Fact]
    public async Task A_label_write_interrupted_after_any_write_leaves_indices_matching_voxels()
    {
        for (int n = 0; n < 12; n++)
        {
            var (stored, store, labels) = await SetUpAsync();
            store.WritesLeft = n;
            // Overwrite half of the box (two blocks and part of a third) with a new supervoxel 20.
            var voxels = new byte[20 * 8 * 8 * 8];
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan()).Fill(20);
            try { await labels.WriteAsync(new Box(new(0, 0, 0), new(20, 8, 8)), voxels); }
            catch (IOException) { }
            var after = await ReopenAsync(stored);
            var all = await after.ReadAllAsync(new Box(new(0, 0, 0), new(32, 8, 8)), supervoxels: true);
            var sv = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(all.AsSpan()).ToArray();
            long twenty = sv.Count(x => x == 20), ones = sv.LongCount(x => x != 20);
            Assert.True(twenty is 0 or 1280, $"after {n} writes the box holds {twenty} voxels of the new label: a torn write");
            Assert.Equal((ulong)ones, (await after.GetIndexAsync(1))!.VoxelCount);
            Assert.Equal((ulong)twenty, (await after.GetIndexAsync(20))?.VoxelCount ?? 0);
            var level1 = await after.ReadAllAsync(new Box(new(0, 0, 0), new(16, 4, 4)), supervoxels: true, scale: 1);
            var expected = new ulong[16 * 4 * 4];
            Downsampling.MajorityOf2x2x2(sv, expected, new(16, 4, 4));
            Assert.Equal(expected, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(level1.AsSpan()).ToArray());
        }
    }

    /// <summary>Review of issue 11: a block POST naming one block twice subtracted the old voxels twice from the indices.</summary>
    [Fact]
    public async Task A_block_written_many_times_in_one_request_is_counted_once()
    {
        var ds = await Diced.Datastore.Datastore.OpenAsync(new MemoryKeyValueStore(), DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("dup", "");
        var v = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "labelmap", ["dataname"] = "seg" });
        var labels = ds.LabelVolumeOf(ds.DataAt(v, inst));
        const int n = 64 * 64 * 64;
        byte[] Solid(ulong label, ulong other)
        {
            var b = new byte[n * 8];
            var l = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(b.AsSpan());
            for (int i = 0; i < n; i++) l[i] = i % 3 == 0 ? other : label; // not solid: encoding takes a while
            return b;
        }
        await labels.WriteBlocksAsync([(new Point3(0, 0, 0), Solid(1, 2))], 0, downres: false, indexing: true);
        // Many copies, so that copies are decoded side by side (on every core) as well as one after another.
        var copies = Enumerable.Range(0, 32).Select(i => (new Point3(0, 0, 0), (ReadOnlyMemory<byte>)(i % 2 == 0 ? Solid(30, 2) : Solid(31, 2)))).ToList();
        await labels.WriteBlocksAsync(copies, 0, downres: false, indexing: true);
        Assert.Null(await labels.GetIndexAsync(1));
        Assert.Null(await labels.GetIndexAsync(30)); // the last copy wins
        Assert.Equal((ulong)(n - (n + 2) / 3), (await labels.GetIndexAsync(31))!.VoxelCount);
        Assert.Equal((ulong)((n + 2) / 3), (await labels.GetIndexAsync(2))!.VoxelCount);
    }

    /// <summary>The same, where it is decided: copies of one block are written once, the last one, so the before and
    /// after voxels each change is indexed from are never both the same stored block.</summary>
    [Fact]
    public async Task Copies_of_one_block_are_observed_once()
    {
        var ds = await Diced.Datastore.Datastore.OpenAsync(new MemoryKeyValueStore(), DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("dup", "");
        var v = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "uint8blk", ["dataname"] = "grey", ["blocksize"] = "8,8,8" });
        var data = ds.DataAt(v, inst);
        var vol = ds.ImageVolumeOf(data);
        var seen = new System.Collections.Concurrent.ConcurrentBag<byte>();
        var copies = Enumerable.Range(1, 8).Select(i => (new Point3(0, 0, 0), (ReadOnlyMemory<byte>)Enumerable.Repeat((byte)i, 512).ToArray())).ToList();
        await data.WriteAsync(async tx =>
        {
            await vol.WriteWholeBlocksAsync(tx, copies, (_, _, _, after) => seen.Add(after[0]), default);
            return 0;
        });
        Assert.Equal([8], seen.ToArray());
        Assert.Equal(Enumerable.Repeat((byte)8, 512).ToArray(), await vol.ReadAllAsync(new Box(new(0, 0, 0), new(8, 8, 8))));
    }
}
