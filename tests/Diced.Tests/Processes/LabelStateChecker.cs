using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Datastore.Types.Labels;
using Diced.Tests.Infrastructure;
using Diced.Codecs.SparseVolumes;

namespace Diced.Tests.Processes;

/// <summary>
/// Checks that everything a labelmap keeps agrees with its voxels: each body's supervoxel sizes and blocks (label
/// indices), the mapping as looked up and as stored, no index left for a label that is not a body, the coarser
/// pyramid level, the max label, every acknowledged mutation in the log, and the synced annotation's label lists and
/// labelsz counts (each element listed under the body under it, counted once). Returns what disagrees.
/// </summary>
public static class LabelStateChecker
{
    public static async Task<List<string>> CheckAsync(HttpClient c, string uuid, LabelWorkload work)
    {
        var problems = new List<string>();
        var (sx, sy, sz) = LabelWorkload.Size;
        const int bs = LabelWorkload.BlockSize;
        var url = $"/api/node/{uuid}/{LabelWorkload.Labels}";

        var raw = await (await (await c.GetAsync($"{url}/raw/0_1_2/{sx}_{sy}_{sz}/0_0_0?supervoxels=true")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var voxels = MemoryMarshal.Cast<byte, ulong>(raw.AsSpan()).ToArray();
        var sizes = new Dictionary<ulong, long>();
        var blocksOf = new Dictionary<ulong, HashSet<(int, int, int)>>();
        for (int z = 0, i = 0; z < sz; z++)
            for (int y = 0; y < sy; y++)
                for (int x = 0; x < sx; x++, i++)
                {
                    var sv = voxels[i];
                    if (sv == 0) continue;
                    sizes[sv] = sizes.GetValueOrDefault(sv) + 1;
                    if (!blocksOf.TryGetValue(sv, out var set)) blocksOf[sv] = set = new();
                    set.Add((x / bs, y / bs, z / bs));
                }

        // The stored mapping, and the body of every supervoxel present.
        var mapping = new Dictionary<ulong, ulong>();
        foreach (var line in (await c.GetStringAsync($"{url}/mappings")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            mapping[ulong.Parse(parts[0])] = ulong.Parse(parts[1]);
        }
        ulong BodyOf(ulong sv) => mapping.TryGetValue(sv, out var b) ? b : sv;
        var bodies = sizes.Keys.GroupBy(BodyOf).ToDictionary(g => g.Key, g => g.ToList());

        foreach (var (body, svs) in bodies)
        {
            var r = await c.GetAsync($"{url}/supervoxel-sizes/{body}");
            if (r.StatusCode != HttpStatusCode.OK)
            {
                problems.Add($"body {body} (supervoxels {string.Join(",", svs)}) has voxels but supervoxel-sizes answers {(int)r.StatusCode}");
                continue;
            }
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            var indexed = doc.RootElement.GetProperty("supervoxels").EnumerateArray().Select(e => e.GetUInt64())
                .Zip(doc.RootElement.GetProperty("sizes").EnumerateArray().Select(e => e.GetInt64())).ToDictionary(p => p.First, p => p.Second);
            var actual = svs.ToDictionary(sv => sv, sv => sizes[sv]);
            if (!indexed.OrderBy(p => p.Key).SequenceEqual(actual.OrderBy(p => p.Key)))
                problems.Add($"body {body}: index says {Show(indexed)}, voxels say {Show(actual)}");
            var coarse = await (await c.GetAsync($"{url}/sparsevol-coarse/{body}")).Content.ReadAsByteArrayAsync();
            var indexedBlocks = Blocks(coarse);
            var actualBlocks = svs.SelectMany(sv => blocksOf[sv]).ToHashSet();
            if (!indexedBlocks.SetEquals(actualBlocks))
                problems.Add($"body {body}: index names {indexedBlocks.Count} blocks, voxels are in {actualBlocks.Count}");
        }

        // Labels that are not bodies here have no index; the looked-up mapping agrees with the stored one.
        var known = work.LabelsSeen.Keys.Concat(mapping.Keys).Concat(mapping.Values).Concat(sizes.Keys).Distinct().Order().ToList();
        foreach (var label in known.Where(l => !bodies.ContainsKey(l)))
        {
            var r = await c.GetAsync($"{url}/size/{label}");
            if (r.StatusCode != HttpStatusCode.NotFound)
                problems.Add($"label {label} has no voxels as a body, yet size/{label} answers {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        }
        var looked = await c.SendAsync(HttpMethod.Get, $"{url}/mapping", DvidClient.Json(known));
        var lookedUp = JsonSerializer.Deserialize<ulong[]>(await (await looked.ExpectAsync(200)).Content.ReadAsStringAsync())!;
        for (int i = 0; i < known.Count; i++)
        {
            ulong expected = sizes.ContainsKey(known[i]) ? BodyOf(known[i]) : 0;
            if (lookedUp[i] != expected) problems.Add($"mapping of supervoxel {known[i]} is {lookedUp[i]}, expected {expected}");
        }

        // The pyramid follows level 0.
        var coarseRaw = await (await (await c.GetAsync($"{url}/raw/0_1_2/{sx / 2}_{sy / 2}_{sz / 2}/0_0_0?supervoxels=true&scale=1")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var expectedCoarse = new ulong[sx / 2 * (sy / 2) * (sz / 2)];
        Downsampling.MajorityOf2x2x2(voxels, expectedCoarse, new(sx / 2, sy / 2, sz / 2));
        int wrongCoarse = 0;
        var level1 = MemoryMarshal.Cast<byte, ulong>(coarseRaw.AsSpan());
        for (int i = 0; i < expectedCoarse.Length; i++) if (level1[i] != expectedCoarse[i]) wrongCoarse++;
        if (wrongCoarse > 0) problems.Add($"{wrongCoarse} voxels of pyramid level 1 disagree with level 0");

        // The max label covers every label; every acknowledged mutation is in the log, once.
        using (var max = await c.GetJsonAsync($"{url}/maxlabel"))
            if (max.RootElement.GetProperty("maxlabel").GetUInt64() < sizes.Keys.DefaultIfEmpty().Max())
                problems.Add($"maxlabel {max.RootElement.GetProperty("maxlabel")} is below label {sizes.Keys.Max()}");
        using (var log = await c.GetJsonAsync($"{url}/mutations"))
        {
            var ids = log.RootElement.EnumerateArray().Select(e => e.GetProperty("MutationID").GetUInt64()).ToList();
            if (ids.Count != ids.Distinct().Count()) problems.Add("the mutation log repeats a mutation id");
            foreach (var id in work.Mutations.Where(id => !ids.Contains(id))) problems.Add($"acknowledged mutation {id} is not in the log");
        }

        // The annotation's label lists and the labelsz counts follow the labels.
        using (var all = await c.GetJsonAsync($"/api/node/{uuid}/{LabelWorkload.Synapses}/all-elements"))
        {
            var expected = new Dictionary<ulong, List<string>>();
            foreach (var block in all.RootElement.EnumerateObject())
                foreach (var e in block.Value.EnumerateArray())
                {
                    var p = e.GetProperty("Pos");
                    var body = BodyOf(voxels[(p[2].GetInt32() * sy + p[1].GetInt32()) * sx + p[0].GetInt32()]);
                    if (body == 0) continue;
                    if (!expected.TryGetValue(body, out var list)) expected[body] = list = [];
                    list.Add($"{p}:{e.GetProperty("Kind").GetString()}");
                }
            foreach (var body in expected.Keys.Concat(bodies.Keys).Distinct())
            {
                using var listed = await c.GetJsonAsync($"/api/node/{uuid}/{LabelWorkload.Synapses}/label/{body}");
                var got = listed.RootElement.EnumerateArray().Select(e => $"{e.GetProperty("Pos")}:{e.GetProperty("Kind").GetString()}").Order().ToList();
                var want = (expected.GetValueOrDefault(body) ?? []).Order().ToList();
                if (!got.SequenceEqual(want))
                    problems.Add($"annotation label {body}: lists {got.Count} elements ({string.Join(" ", got.Except(want).Take(3))} extra), the voxels put {want.Count} there ({string.Join(" ", want.Except(got).Take(3))} missing)");
            }
            using var top = await c.GetJsonAsync($"/api/node/{uuid}/{LabelWorkload.Sizes}/top/100000/AllSyn");
            var counted = top.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("Label").GetUInt64(), e => e.GetProperty("Size").GetInt32());
            var wantCounts = expected.ToDictionary(kv => kv.Key, kv => kv.Value.Count(s => !s.EndsWith(":Note"))).Where(kv => kv.Value > 0).ToDictionary();
            if (!counted.OrderBy(kv => kv.Key).SequenceEqual(wantCounts.OrderBy(kv => kv.Key)))
                problems.Add($"labelsz AllSyn counts {counted.Count} bodies, the label lists give {wantCounts.Count} (first difference: {string.Join(", ", counted.Except(wantCounts).Concat(wantCounts.Except(counted)).Take(2))})");
        }

        // Whole-box image writes land whole: one value throughout, acknowledged or sent later.
        var grey = await (await (await c.GetAsync($"/api/node/{uuid}/{LabelWorkload.Grey}/raw/0_1_2/64_64_64/0_0_0")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var values = grey.Distinct().ToList();
        if (values.Count != 1) problems.Add($"an 8-block image write is torn: the box holds values {string.Join(",", values.Take(8))}");
        else if (work.LastGreyAcknowledged >= 0)
        {
            List<byte> allowed;
            lock (work.GreyValuesSent) allowed = work.GreyValuesSent.Skip(work.LastGreyAcknowledged).ToList();
            if (!allowed.Contains(values[0])) problems.Add($"the image box holds {values[0]}, older than the last acknowledged write");
        }
        // Its pyramid level committed with it: the mean of one value is that value.
        var greyLevel1 = await (await (await c.GetAsync($"/api/node/{uuid}/{LabelWorkload.Grey}_1/raw/0_1_2/32_32_32/0_0_0")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var levelValues = greyLevel1.Distinct().ToList();
        if (values.Count == 1 && (levelValues.Count != 1 || levelValues[0] != values[0]))
            problems.Add($"level 1 of the image holds {string.Join(",", levelValues.Take(8))} over a level 0 of {values[0]}");
        return problems;
    }

    private static string Show(Dictionary<ulong, long> d) => "{" + string.Join(", ", d.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}")) + "}";

    /// <summary>The blocks named by a sparsevol-coarse answer (runs of block coordinates along x).</summary>
    private static HashSet<(int, int, int)> Blocks(byte[] rle)
    {
        var set = new HashSet<(int, int, int)>();
        if (rle.Length < 12) return set;
        var runs = SparseVolume.ParseRuns(rle);
        foreach (var r in runs)
            for (int i = 0; i < r.Length; i++) set.Add((r.X + i, r.Y, r.Z));
        return set;
    }
}
