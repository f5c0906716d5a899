using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;

namespace Diced.Bench;

/// <summary>
/// Reads of a key at the version that wrote it, against reads of the same key 1000 versions further down the DAG.
/// DVID and DICED slow down as versions pile up; Diced must not (bar: at most 1.5x).
/// </summary>
public static class VersionDepthBench
{
    public static async Task RunAsync()
    {
        const int depth = 1000, reads = 20_000, rounds = 5;
        var dir = Path.Combine(Path.GetTempPath(), $"diced-bench-versions-{Guid.NewGuid():N}");
        try
        {
            await using var store = new RocksDbKeyValueStore(dir);
            var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
            var repo = await ds.CreateRepoAsync("bench", "");
            var root = ds.Resolve(repo.Root);
            var inst = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
            var value = new byte[1024];
            Random.Shared.NextBytes(value);
            var rootKv = new KeyValueData(ds.DataAt(root, inst));
            await rootKv.PutAsync("target", value);
            for (int i = 0; i < 1000; i++) await rootKv.PutAsync($"other{i:D4}", value);
            await ds.CommitAsync(root, "root", null);
            var node = ds.Resolve(repo.Root);
            for (int v = 0; v < depth; v++)
            {
                var child = ds.Resolve(await ds.NewVersionAsync(node, null, null));
                // Each version writes keys of its own, as a real history would.
                await new KeyValueData(ds.DataAt(child, inst)).PutAsync($"v{v:D4}", value);
                await ds.CommitAsync(child, null, null);
                node = ds.Resolve(child.Uuid);
                if (v % 50 == 0) Measure.Progress($"building {v}/{depth} versions");
            }
            Measure.EndProgress();
            var leaf = ds.Resolve(await ds.NewVersionAsync(node, null, null));
            var atWriter = new KeyValueData(ds.DataAt(ds.Resolve(repo.Root), inst));
            var atLeaf = new KeyValueData(ds.DataAt(leaf, inst));
            if (!(await atLeaf.GetAsync("target"))!.AsSpan().SequenceEqual(value)) throw new InvalidOperationException("leaf read is wrong");
            await Measure.SecondsPerOpAsync(2000, async () => await atWriter.GetAsync("target")); // warm up
            await Measure.SecondsPerOpAsync(2000, async () => await atLeaf.GetAsync("target"));
            var (writer, deep, _) = await Measure.RatioAsync(rounds,
                () => Measure.SecondsPerOpAsync(reads, async () => await atWriter.GetAsync("target")),
                () => Measure.SecondsPerOpAsync(reads, async () => await atLeaf.GetAsync("target")));
            Console.WriteLine($"read 1 KiB key at the writing node:        {writer * 1e6,8:F2} us/read");
            Console.WriteLine($"read it {depth} versions below the writer: {deep * 1e6,8:F2} us/read");
            Console.WriteLine($"ratio deep/writer: {deep / writer:F2}x (bar: <= 1.5x)");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
