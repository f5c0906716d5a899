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
                var vol = new ImageVolume(ds.DataAt(root, img), ds.Volumes, VoxelType.Uint8);
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
        var voxels = await new ImageVolume(again.DataAt(r, again.GetInstance(r, "img")), again.Volumes, VoxelType.Uint8).ReadAllAsync(new(new(0, 0, 0), new(8, 16, 16)));
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
