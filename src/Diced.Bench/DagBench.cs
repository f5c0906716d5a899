using System.Text.Json;

namespace Diced.Bench;

/// <summary>
/// The version DAG over a 1 GiB base (1024³ uint8 in 32³ blocks): merge time with 10 vs ~10,000 changed blocks
/// (it should follow the changes, not the data), the diff of two versions 1,000 blocks apart (goal &lt; 1 s), and
/// the space a pruned 256 MiB branch gives back once compacted (goal ≥ 90%), and the storage report's time against
/// reading the store's files.
/// </summary>
public static class DagBench
{
    private const int N = 1024, Block = 32;

    public static async Task RunAsync()
    {
        await using var server = await BenchServer.StartAsync();
        var root = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(root, $"{{\"typename\":\"uint8blk\",\"dataname\":\"grey\",\"BlockSize\":\"{Block},{Block},{Block}\"}}");
        var slab = new byte[N * N * 64];
        for (int z = 0; z < 16; z++)
        {
            Measure.Progress($"ingesting the 1 GiB base {z + 1}/16");
            for (int i = 0; i < slab.Length; i++) slab[i] = (byte)(128 + 60 * Math.Sin((i & 1023) / 9.0) + (i * 7919 >> 12 & 15) + z);
            await server.PostAsync($"/api/node/{root}/grey/raw/0_1_2/{N}_{N}_64/0_0_{z * 64}", slab);
        }
        Measure.EndProgress();
        await Commit(server, root);
        server.Settle();

        // Merges: two branches of 10 blocks each, then one of 10,240 blocks against one of 10.
        var (small1, small2) = (await Branch(server, root, "s1"), await Branch(server, root, "s2"));
        await WriteBlocks(server, small1, 10, 0);
        await WriteBlocks(server, small2, 10, 512);
        var (big1, big2) = (await Branch(server, root, "b1"), await Branch(server, root, "b2"));
        await WriteBlocks(server, big1, 32 * 32 * 10, 0);
        await WriteBlocks(server, big2, 10, 512);
        foreach (var u in new[] { small1, small2, big1, big2 }) await Commit(server, u);
        server.Settle();
        double tSmall = await Time(() => Merge(server, root, small1, small2));
        double tBig = await Time(() => Merge(server, root, big1, big2));

        // Diff: 1,000 changed blocks.
        var diffed = await Branch(server, root, "d");
        await WriteBlocks(server, diffed, 1000, 256);
        int listed = 0;
        double tDiff = await Time(async () =>
        {
            using var doc = JsonDocument.Parse(await server.Client.GetStringAsync($"/api/node/{root}/grey/diff/{diffed}"));
            listed = doc.RootElement.GetProperty("changes").GetArrayLength();
        });

        // Prune: a branch that writes 256 MiB of incompressible blocks, deleted and compacted.
        server.Settle();
        long before = server.StoreBytes();
        var scratch = await Branch(server, root, "scratch");
        await WriteBlocks(server, scratch, 8192, 0, random: true);
        server.Settle();
        long written = server.StoreBytes();
        double tPrune = await Time(async () =>
        {
            var r = await server.Client.DeleteAsync($"/api/node/{scratch}?imsure=true");
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException(await r.Content.ReadAsStringAsync());
        });
        server.Settle();
        long after = server.StoreBytes();
        double reclaimed = (double)(written - after) / Math.Max(1, written - before);

        // Storage report (GET /api/repo/{uuid}/storage) against reading every store file and discarding it.
        long fileBytes = 0, keys = 0;
        double tFiles = await Time(() => { fileBytes = server.ReadStoreFiles(); return Task.CompletedTask; });
        double tStorage = await Time(async () =>
        {
            using var doc = JsonDocument.Parse(await server.Client.GetStringAsync($"/api/repo/{root}/storage"));
            keys = doc.RootElement.GetProperty("Instances").EnumerateArray().Sum(i => i.GetProperty("Keys").GetInt64());
        });

        Console.WriteLine($"merge, 10 + 10 changed blocks:          {tSmall * 1000,8:F0} ms");
        Console.WriteLine($"merge, 10,240 + 10 changed blocks:      {tBig * 1000,8:F0} ms  ({tBig / tSmall:F0}x the time for {10250 / 20.0:F0}x the changes; {tBig / 10250 * 1e6:F0} us per changed block)");
        Console.WriteLine($"diff of versions 1,000 blocks apart:    {tDiff * 1000,8:F0} ms  ({listed} changes listed; goal < 1000 ms)");
        Console.WriteLine($"prune of a branch that wrote 256 MiB:   {tPrune * 1000,8:F0} ms; store {before >> 20} -> {written >> 20} -> {after >> 20} MiB after compaction: {reclaimed:P0} given back (goal >= 90%)");
        Console.WriteLine($"storage report over the repo:           {tStorage * 1000,8:F0} ms  ({keys} keys; reading the store's {fileBytes >> 20} MiB of files and discarding them: {tFiles * 1000:F0} ms; ratio {tStorage / tFiles:F2}x)");
    }

    private static Task<double> Time(Func<Task> op) => Measure.SecondsPerOpAsync(1, op);

    /// <summary>Writes <paramref name="count"/> whole blocks row by row from block layer <paramref name="firstLayer"/>.</summary>
    private static async Task WriteBlocks(BenchServer server, string uuid, int count, int firstLayer, bool random = false)
    {
        int perLayer = (N / Block) * (N / Block);
        var rng = new Random(count + firstLayer);
        for (int done = 0; done < count;)
        {
            int layer = firstLayer + done / perLayer;
            int inLayer = Math.Min(perLayer - done % perLayer, count - done);
            int rows = (inLayer + N / Block - 1) / (N / Block), firstRow = done % perLayer / (N / Block);
            // Whole rows of blocks (the last row may be written whole too; only `count` blocks are counted).
            var body = new byte[N * rows * Block * Block];
            if (random) rng.NextBytes(body);
            else Array.Fill(body, (byte)(count % 200 + 1));
            await server.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/{N}_{rows * Block}_{Block}/0_{firstRow * Block}_{layer * Block}", body);
            done += inLayer;
        }
    }

    private static async Task Commit(BenchServer server, string uuid) => await server.PostAsync($"/api/node/{uuid}/commit", "{\"note\": \"bench\"}");

    private static async Task<string> Branch(BenchServer server, string uuid, string name)
    {
        var r = await server.Client.PostAsync($"/api/node/{uuid}/branch", new StringContent($"{{\"branch\": \"{name}\"}}"));
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("child").GetString()!;
    }

    private static Task Merge(BenchServer server, string root, string a, string b)
        => server.PostAsync($"/api/repo/{root}/merge", $"{{\"mergeType\": \"conflict-free\", \"parents\": [\"{a}\", \"{b}\"]}}");
}
