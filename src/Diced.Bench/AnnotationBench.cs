using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Diced.Bench;

/// <summary>
/// Synapses at scale: 1,000,000 PreSyn/PostSyn elements with relationships on ~10,600 bodies of a 512³ labelmap, loaded
/// through <c>POST blocks</c> (against posting the same bytes to the discard endpoint); <c>label/{body}</c> time against
/// the body's element count; <c>top/1000/PostSyn</c>; a merge of two 50k-synapse bodies with the annotation and labelsz
/// updates in its commit; <c>GET elements</c> of the whole 512³ box against <c>GET raw</c> of the same box.
/// </summary>
public static class AnnotationBench
{
    private const int N = 512, Cell = 24, Block = 64;
    private const int Cells = (N + Cell - 1) / Cell; // 22 per axis

    /// <summary>The body of each cell: the first cells make a 100k, two 50k and a 10k-element body; the rest one body each.</summary>
    private static ulong BodyOfCell(int c) => c switch
    {
        < 64 => 1, < 96 => 2, < 128 => 3, < 136 => 4, _ => 1000 + (ulong)c,
    };

    public static async Task RunAsync()
    {
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"labelmap\",\"dataname\":\"seg\"}");
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"annotation\",\"dataname\":\"syn\"}");
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"labelsz\",\"dataname\":\"sz\"}");
        await server.PostAsync($"/api/node/{uuid}/syn/sync", "{\"sync\":\"seg\"}");
        await server.PostAsync($"/api/node/{uuid}/sz/sync", "{\"sync\":\"syn\"}");

        var slab = new ulong[Block * N * N];
        for (int z0 = 0; z0 < N; z0 += Block)
        {
            Measure.Progress($"writing 512^3 labels: z {z0}");
            Parallel.For(0, Block, dz =>
            {
                int cz = (z0 + dz) / Cell;
                for (int y = 0; y < N; y++)
                for (int x = 0; x < N; x++)
                    slab[((long)dz * N + y) * N + x] = BodyOfCell(x / Cell + Cells * (y / Cell + Cells * cz));
            });
            var r = await server.Client.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/{N}_{N}_{Block}/0_0_{z0}",
                new ByteArrayContent(MemoryMarshal.AsBytes(slab.AsSpan()).ToArray()));
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException(await r.Content.ReadAsStringAsync());
        }
        slab = null;
        Measure.EndProgress();

        var (bodies, blocks, total) = Synapses();
        var bodies100 = bodies.Where(b => b.Value == 100).Select(b => b.Key).First();
        var requests = blocks.GroupBy(b => b.Key.Z).Select(g => Encoding.UTF8.GetBytes(BlocksJson(g))).ToList();
        server.Settle();
        Measure.Progress("loading 1,000,000 elements through POST blocks");
        var sw = Stopwatch.StartNew();
        foreach (var body in requests) await server.PostAsync($"/api/node/{uuid}/syn/blocks", body);
        double load = sw.Elapsed.TotalSeconds;
        sw.Restart();
        foreach (var body in requests) await server.PostAsync("/bench/discard", body);
        double discard = sw.Elapsed.TotalSeconds;
        Measure.EndProgress();
        long bytes = requests.Sum(r => (long)r.Length);
        Console.WriteLine($"(512^3 labelmap of {Cells * Cells * Cells:N0} cells of {Cell}^3 on {bodies.Count:N0} bodies; {total:N0} elements, half PreSyn, half PostSyn, each with its partner)");
        Console.WriteLine($"POST blocks of {total:N0} elements ({bytes / 1e6:F0} MB of JSON in {requests.Count} requests): {load:F1} s = {total / load:N0} elements/s; "
            + $"posting the same bytes to the discard endpoint: {discard:F2} s ({load / discard:F0}x)");
        server.Settle();

        foreach (var body in new[] { bodies100, 4UL, 1UL })
        {
            var url = $"/api/node/{uuid}/syn/label/{body}";
            int count = JsonDocument.Parse(await server.Client.GetStringAsync(url)).RootElement.GetArrayLength();
            if (count != bodies[body]) throw new InvalidOperationException($"label/{body} lists {count} elements, {bodies[body]} were posted");
            double t = Measure.Median(await Measure.RepeatAsync(5, () => server.Client.GetByteArrayAsync(url)));
            double tr = Measure.Median(await Measure.RepeatAsync(5, () => server.Client.GetByteArrayAsync(url + "?relationships=true")));
            Console.WriteLine($"GET label/{{body}} of a {count,7:N0}-element body: {t * 1000,8:F2} ms ({t / count * 1e6:F1} us per element); with relationships {tr * 1000,8:F2} ms");
        }
        {
            var url = $"/api/node/{uuid}/sz/top/1000/PostSyn";
            var top = JsonDocument.Parse(await server.Client.GetStringAsync(url)).RootElement;
            if (top.GetArrayLength() != 1000 || top[0].GetProperty("Label").GetUInt64() != 1) throw new InvalidOperationException($"unexpected ranking: {top[0]}");
            double t = Measure.Median(await Measure.RepeatAsync(5, () => server.Client.GetByteArrayAsync(url)));
            Console.WriteLine($"GET top/1000/PostSyn over {bodies.Count:N0} bodies: {t * 1000:F2} ms");
        }
        {
            sw.Restart();
            await server.PostAsync($"/api/node/{uuid}/seg/merge", "[2, 3]");
            double t = sw.Elapsed.TotalSeconds;
            var count = JsonDocument.Parse(await server.Client.GetStringAsync($"/api/node/{uuid}/sz/count/2/AllSyn")).RootElement.GetProperty("AllSyn").GetInt64();
            int listed = JsonDocument.Parse(await server.Client.GetStringAsync($"/api/node/{uuid}/syn/label/2")).RootElement.GetArrayLength();
            if (count != bodies[2] + bodies[3] || listed != count) throw new InvalidOperationException($"after the merge: labelsz counts {count}, label/2 lists {listed}");
            Console.WriteLine($"merge of two 50k-element bodies (labelmap mapping and index, annotation label lists, labelsz counts in one commit): {t * 1000:F0} ms");
        }
        {
            long rawBytes = (long)N * N * N * 8;
            var elements = $"/api/node/{uuid}/syn/elements/{N}_{N}_{N}/0_0_0";
            var raw = $"/api/node/{uuid}/seg/raw/0_1_2/{N}_{N}_{N}/0_0_0";
            var (r, e, ratio) = await Measure.RatioAsync(3, () => Seconds(server, raw), () => Seconds(server, elements));
            Console.WriteLine($"GET elements of the 512^3 box ({total:N0} elements): {e:F2} s = {e / r:F2}x the time of GET raw of the same box ({rawBytes >> 20} MiB of labels, {r:F2} s); median per-round ratio {ratio:F2}x");
        }
    }

    /// <summary>The synapses: per body a target count, pairs placed at distinct random voxels of the body's cells.</summary>
    private static (Dictionary<ulong, int> Bodies, Dictionary<(int X, int Y, int Z), StringBuilder> Blocks, int Total) Synapses()
    {
        var cellsOf = new Dictionary<ulong, List<int>>();
        for (int c = 0; c < Cells * Cells * Cells; c++)
        {
            var b = BodyOfCell(c);
            if (!cellsOf.TryGetValue(b, out var list)) cellsOf[b] = list = [];
            list.Add(c);
        }
        var target = new Dictionary<ulong, int> { [1] = 100_000, [2] = 50_000, [3] = 50_000, [4] = 10_000 };
        var singles = cellsOf.Keys.Where(b => b >= 1000).ToList();
        foreach (var b in singles.Take(100)) target[b] = 100;
        var rest = singles.Skip(100).ToList();
        int remainingPairs = (1_000_000 - target.Values.Sum()) / 2;
        for (int i = 0; i < rest.Count; i++) target[rest[i]] = 2 * (remainingPairs / rest.Count + (i < remainingPairs % rest.Count ? 1 : 0));

        var rng = new Random(14);
        var used = new HashSet<(int, int, int)>();
        var blocks = new Dictionary<(int X, int Y, int Z), StringBuilder>();
        (int, int, int) Free(int cell, (int X, int Y, int Z)? near)
        {
            int x0 = cell % Cells * Cell, y0 = cell / Cells % Cells * Cell, z0 = cell / (Cells * Cells) * Cell;
            int Clamp(int v, int o) => Math.Clamp(v, o, Math.Min(o + Cell, N) - 1);
            while (true)
            {
                var p = near is { } q
                    ? (Clamp(q.X + rng.Next(-3, 4), x0), Clamp(q.Y + rng.Next(-3, 4), y0), Clamp(q.Z + rng.Next(-3, 4), z0))
                    : (Clamp(x0 + rng.Next(Cell), x0), Clamp(y0 + rng.Next(Cell), y0), Clamp(z0 + rng.Next(Cell), z0));
                if (used.Add(p)) return p;
            }
        }
        void Add((int X, int Y, int Z) p, string kind, string rel, (int X, int Y, int Z) to)
        {
            var key = (p.X / Block, p.Y / Block, p.Z / Block);
            if (!blocks.TryGetValue(key, out var sb)) blocks[key] = sb = new StringBuilder();
            if (sb.Length > 0) sb.Append(',');
            sb.Append($"{{\"Pos\":[{p.X},{p.Y},{p.Z}],\"Kind\":\"{kind}\",\"Tags\":[],\"Prop\":{{\"conf\":\"0.9\"}},\"Rels\":[{{\"Rel\":\"{rel}\",\"To\":[{to.X},{to.Y},{to.Z}]}}]}}");
        }
        int total = 0;
        foreach (var (body, count) in target)
        {
            var cells = cellsOf[body];
            for (int i = 0; i < count / 2; i++)
            {
                int cell = cells[rng.Next(cells.Count)];
                var pre = Free(cell, null);
                var post = Free(cell, pre);
                Add(pre, "PreSyn", "PreSynTo", post);
                Add(post, "PostSyn", "PostSynTo", pre);
                total += 2;
            }
        }
        return (target, blocks, total);
    }

    private static string BlocksJson(IEnumerable<KeyValuePair<(int X, int Y, int Z), StringBuilder>> blocks)
        => "{" + string.Join(",", blocks.Select(b => $"\"{b.Key.X},{b.Key.Y},{b.Key.Z}\":[{b.Value}]")) + "}";

    private static async Task<double> Seconds(BenchServer server, string url)
    {
        var sw = Stopwatch.StartNew();
        using var r = await server.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{url}: {(int)r.StatusCode}");
        await using var s = await r.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 20];
        while (await s.ReadAsync(buffer) > 0) { }
        return sw.Elapsed.TotalSeconds;
    }

}
