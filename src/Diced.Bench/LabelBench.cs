using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Diced.Codecs;
using Diced.Codecs.Labels;

namespace Diced.Bench;

/// <summary>
/// Label hot paths: DVID label-block encode/decode throughput on one core (against LZ4 of the same bytes, measured
/// in the same run), stored bytes per 64³ block (DVID format alone, + gzip as DVID stores it, + zstd as Diced
/// does), and sparsevol time against body size (against a raw GET of the whole volume).
/// </summary>
public static class LabelBench
{
    public static async Task RunAsync()
    {
        const int n = 256;
        Measure.Progress("generating a 256^3 segmentation");
        var volume = Segmentation(n, cell: 24, seed: 7);
        Measure.EndProgress();
        Codecs(volume, n);
        await Sparsevol(volume, n);
    }

    /// <summary>
    /// EM-like segmentation: a Voronoi tiling with seeds jittered on a grid (at cell 24, about 1,200 segments of ~14k
    /// voxels each and 35–65 labels per 64³ block: more fragmented than proofread EM segmentation, so a harder case).
    /// </summary>
    public static ulong[] Segmentation(int n, int cell, int seed)
    {
        var rng = new Random(seed);
        int g = (n + cell - 1) / cell;
        var seeds = new (int X, int Y, int Z, ulong L)[g * g * g];
        for (int i = 0; i < seeds.Length; i++)
        {
            int cx = i % g, cy = i / g % g, cz = i / (g * g);
            seeds[i] = (cx * cell + rng.Next(cell), cy * cell + rng.Next(cell), cz * cell + rng.Next(cell), 100_000UL + (ulong)rng.Next(1 << 30));
        }
        var labels = new ulong[n * n * n];
        Parallel.For(0, n, z =>
        {
            var local = new Random(seed * 1000 + z);
            for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                int px = x, py = y;
                int cx = px / cell, cy = py / cell, cz = z / cell;
                int best = 0, bestD = int.MaxValue;
                for (int dz = -1; dz <= 1; dz++)
                for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                {
                    int sx = cx + dx, sy = cy + dy, sz = cz + dz;
                    if (sx < 0 || sy < 0 || sz < 0 || sx >= g || sy >= g || sz >= g) continue;
                    int s = (sz * g + sy) * g + sx;
                    int ex = px - seeds[s].X, ey = py - seeds[s].Y, ez = z - seeds[s].Z, d = ex * ex + ey * ey + ez * ez;
                    if (d < bestD) { bestD = d; best = s; }
                }
                labels[((long)z * n + y) * n + x] = seeds[best].L;
            }
        });
        return labels;
    }

    private static ulong[] Block(ulong[] volume, int n, int bx, int by, int bz)
    {
        var block = new ulong[64 * 64 * 64];
        for (int z = 0; z < 64; z++)
        for (int y = 0; y < 64; y++)
            volume.AsSpan(((bz * 64 + z) * n + by * 64 + y) * n + bx * 64, 64).CopyTo(block.AsSpan((z * 64 + y) * 64, 64));
        return block;
    }

    private static void Codecs(ulong[] volume, int n)
    {
        var blocks = new List<ulong[]>();
        for (int bz = 0; bz < n / 64; bz++) for (int by = 0; by < n / 64; by++) for (int bx = 0; bx < n / 64; bx++) blocks.Add(Block(volume, n, bx, by, bz));
        var encoded = blocks.Select(b => LabelBlock.Encode(b, (64, 64, 64))).ToList();
        var lz4 = blocks.Select(b => Lz4Block.Encode(MemoryMarshal.AsBytes(b.AsSpan()))).ToList();
        double rawMB = blocks.Count * 64 * 64 * 64 * 8 / 1e6;
        var decoded = new ulong[64 * 64 * 64];
        var decodedBytes = new byte[64 * 64 * 64 * 8];

        double Time(Action each, int reps = 3)
        {
            var times = new List<double>();
            for (int r = 0; r < reps; r++)
            {
                var sw = Stopwatch.StartNew();
                each();
                times.Add(sw.Elapsed.TotalSeconds);
            }
            return Measure.Median(times);
        }
        const int rounds = 5;
        var enc = new List<double>(); var dec = new List<double>(); var lzEnc = new List<double>(); var lzDec = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            enc.Add(rawMB / Time(() => { foreach (var b in blocks) LabelBlock.Encode(b, (64, 64, 64)); }));
            lzEnc.Add(rawMB / Time(() => { foreach (var b in blocks) Lz4Block.Encode(MemoryMarshal.AsBytes(b.AsSpan())); }));
            dec.Add(rawMB / Time(() => { foreach (var e in encoded) LabelBlock.Decode(e, decoded); }));
            lzDec.Add(rawMB / Time(() => { foreach (var e in lz4) Lz4Block.Decode(e, decodedBytes); }));
        }
        double Ratio(List<double> a, List<double> b) => Measure.Median(a.Zip(b, (x, y) => x / y));
        var tables = encoded.Select(e => LabelBlock.TableOf(e).Length).ToList();
        double dvid = encoded.Average(e => e.Length), gz = encoded.Average(e => GzipCodec.Compress(e).Length),
            zs = encoded.Average(e => ValueEnvelope.Encode(e, CompressionSpec.Parse("zstd")).Length),
            lzOnly = lz4.Average(e => e.Length);
        Console.WriteLine($"({blocks.Count} blocks of 64^3 from a 256^3 synthetic segmentation; {tables.Min()}-{tables.Max()} labels per block, median {Measure.Median(tables.Select(t => (double)t))}; one core; median of {rounds} rounds)");
        Console.WriteLine($"label block encode: {Measure.Median(enc),7:F0} MB/s of raw uint64   {Ratio(enc, lzEnc):F2}x LZ4 encode of the same bytes ({Measure.Median(lzEnc):F0} MB/s)");
        Console.WriteLine($"label block decode: {Measure.Median(dec),7:F0} MB/s of raw uint64   {Ratio(dec, lzDec):F2}x LZ4 decode of the same bytes ({Measure.Median(lzDec):F0} MB/s)");
        Console.WriteLine($"stored bytes per 64^3 block: DVID format {dvid / 1024,6:F1} KiB, + gzip (DVID's storage) {gz / 1024,5:F1} KiB, + zstd (Diced) {zs / 1024,5:F1} KiB; LZ4 of raw {lzOnly / 1024,6:F1} KiB (raw 2048 KiB)");
        Console.WriteLine($"  DVID's production figure for comparison: ~26 KB in DVID format, ~5 KB with zstd on top");
    }

    private static async Task Sparsevol(ulong[] volume, int n)
    {
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"labelmap\",\"dataname\":\"seg\"}");
        Measure.Progress("ingesting labels");
        var raw = MemoryMarshal.AsBytes(volume.AsSpan()).ToArray();
        var ingest = await server.PostThroughputAsync($"/api/node/{uuid}/seg/raw/0_1_2/{n}_{n}_{n}/0_0_0", raw, 1);
        Measure.EndProgress();
        server.Settle();
        // Bodies of growing size: merge k neighbouring segments (by id order of first appearance along x).
        var order = new List<ulong>();
        var seen = new HashSet<ulong>();
        for (int i = 0; i < volume.Length; i += 997) if (seen.Add(volume[i])) order.Add(volume[i]);
        var cases = new List<(ulong Body, long Voxels)>();
        foreach (var k in new[] { 1, 8, 64 })
        {
            var members = order.Skip(k).Take(k).ToList();
            if (k > 1)
            {
                var r = await server.Client.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[" + string.Join(",", members) + "]"));
                if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException(await r.Content.ReadAsStringAsync());
            }
            var set = members.ToHashSet();
            cases.Add((members[0], volume.LongCount(set.Contains)));
        }
        var fullUrl = $"/api/node/{uuid}/seg/raw/0_1_2/{n}_{n}_{n}/0_0_0";
        long bytes = (long)n * n * n * 8;
        await server.GetThroughputAsync(fullUrl, bytes, 1);
        var (mem, bodies, rBodies) = await Measure.RatioAsync(5, () => server.GetThroughputAsync($"/bench/memory/{bytes}", bytes, 1), () => server.GetThroughputAsync(fullUrl, bytes, 1));
        var (_, svs, rSvs) = await Measure.RatioAsync(5, () => server.GetThroughputAsync($"/bench/memory/{bytes}", bytes, 1), () => server.GetThroughputAsync(fullUrl + "?supervoxels=true", bytes, 1));
        var (_, _, rMapped) = await Measure.RatioAsync(5, () => server.GetThroughputAsync(fullUrl + "?supervoxels=true", bytes, 1), () => server.GetThroughputAsync(fullUrl, bytes, 1));
        double full = bytes / 1e6 / bodies;
        Console.WriteLine($"ingest of 256^3 labels (index built as blocks are written): {ingest:F0} MB/s");
        Console.WriteLine($"GET raw 256^3 labels, supervoxels: {svs,6:F0} MB/s  ratio {rSvs:F2}x vs {mem:F0} MB/s from memory");
        Console.WriteLine($"GET raw 256^3 labels, mapped to bodies (~75 merged supervoxels): {bodies,6:F0} MB/s  ratio {rBodies:F2}x; {rMapped:F2}x the same GET with supervoxels=true");
        foreach (var (body, voxels) in cases)
        {
            var url = $"/api/node/{uuid}/seg/sparsevol/{body}";
            var rle = (await server.Client.GetByteArrayAsync(url)).Length;
            double t = Measure.Median(await Measure.RepeatAsync(5, () => server.Client.GetByteArrayAsync(url)));
            using var size = System.Text.Json.JsonDocument.Parse(await server.Client.GetStringAsync($"/api/node/{uuid}/seg/sparsevol-size/{body}"));
            int blocksTouched = size.RootElement.GetProperty("numblocks").GetInt32();
            Console.WriteLine($"sparsevol of a {voxels,9}-voxel body ({blocksTouched,2} of 64 blocks, {rle / 16,6} runs): {t * 1000,7:F1} ms = {t / full:F3}x the whole-volume GET");
        }
    }
}
