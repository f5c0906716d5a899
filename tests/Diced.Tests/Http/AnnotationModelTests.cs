using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Diced.Tests.Http;

/// <summary>
/// Random element posts, moves and deletes, merges, cleaves and voxel writes on a labelmap, with commits and new versions
/// in between; at every version the annotation's label and tag lists and the labelsz rankings must equal those of a plain
/// in-memory model (issue 14).
/// </summary>
public class AnnotationModelTests(ServerFixture f, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;
    private const int W = 128, H = 64, D = 64;
    private static readonly string[] Kinds = ["PreSyn", "PostSyn", "Gap", "Note"];
    private static readonly string[] TagNames = ["a", "b"];

    private sealed class Model
    {
        public ulong[] Voxels = new ulong[W * H * D];
        public Dictionary<ulong, ulong> Body = new();
        public Dictionary<(int X, int Y, int Z), (string Kind, string[] Tags)> Elements = new();

        public ulong BodyOf(ulong sv) => sv == 0 ? 0 : Body.GetValueOrDefault(sv, sv);
        public ulong SvAt((int X, int Y, int Z) p) => Voxels[(p.Z * H + p.Y) * W + p.X];

        public Model Clone() => new() { Voxels = (ulong[])Voxels.Clone(), Body = new(Body), Elements = new(Elements) };

        /// <summary>Supervoxels with voxels, by body.</summary>
        public Dictionary<ulong, HashSet<ulong>> Bodies()
            => Voxels.Where(v => v != 0).Distinct().GroupBy(BodyOf).ToDictionary(g => g.Key, g => g.ToHashSet());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Labels_tags_and_counts_match_a_model_at_every_version(int seed)
    {
        var rng = new Random(seed);
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var m = new Model();
        for (int i = 0; i < m.Voxels.Length; i++) m.Voxels[i] = (ulong)(1 + i % W / 16);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/{W}_{H}_{D}/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(m.Voxels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "labelsz", "sz");
        await (await _c.PostAsync($"/api/node/{uuid}/sz/sync", DvidClient.Json(new { sync = "syn" }))).ExpectAsync(200);

        var versions = new List<(string Uuid, Model Model)>();
        var counts = new Dictionary<string, int>();
        for (int step = 0; step < 160; step++)
        {
            string op = rng.Next(100) switch
            {
                < 40 => "post", < 50 => "delete", < 62 => "move", < 72 => "merge", < 80 => "cleave", < 92 => "voxels", _ => "version",
            };
            if (op is "delete" or "move" && m.Elements.Count == 0) op = "post";
            counts[op] = counts.GetValueOrDefault(op) + 1;
            switch (op)
            {
                case "post":
                {
                    var batch = Enumerable.Range(0, rng.Next(1, 6)).Select(_ => (Pos: RandomPos(rng), Kind: Kinds[rng.Next(Kinds.Length)],
                        Tags: TagNames.Where(_ => rng.Next(3) == 0).ToArray())).ToList();
                    await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Json(batch.Select(e => new { Pos = new[] { e.Pos.X, e.Pos.Y, e.Pos.Z }, e.Kind, e.Tags })))).ExpectAsync(200);
                    foreach (var e in batch) m.Elements[e.Pos] = (e.Kind, e.Tags);
                    break;
                }
                case "delete":
                {
                    var p = m.Elements.Keys.ElementAt(rng.Next(m.Elements.Count));
                    await (await _c.DeleteAsync($"/api/node/{uuid}/syn/element/{p.X}_{p.Y}_{p.Z}")).ExpectAsync(200);
                    m.Elements.Remove(p);
                    break;
                }
                case "move":
                {
                    var from = m.Elements.Keys.ElementAt(rng.Next(m.Elements.Count));
                    var to = RandomPos(rng);
                    await (await _c.PostAsync($"/api/node/{uuid}/syn/move/{from.X}_{from.Y}_{from.Z}/{to.X}_{to.Y}_{to.Z}", DvidClient.Text(""))).ExpectAsync(200);
                    var e = m.Elements[from];
                    m.Elements.Remove(from);
                    m.Elements[to] = e;
                    break;
                }
                case "merge":
                {
                    var bodies = m.Bodies().Keys.ToList();
                    if (bodies.Count < 2) break;
                    var a = bodies[rng.Next(bodies.Count)];
                    var b = bodies.Where(x => x != a).ElementAt(rng.Next(bodies.Count - 1));
                    await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text($"[{a}, {b}]"))).ExpectAsync(200);
                    foreach (var sv in m.Body.Where(kv => kv.Value == b).Select(kv => kv.Key).ToList()) m.Body[sv] = a;
                    foreach (var sv in m.Voxels.Where(v => v != 0 && m.BodyOf(v) == b).Distinct().ToList()) m.Body[sv] = a;
                    break;
                }
                case "cleave":
                {
                    var candidates = m.Bodies().Where(kv => kv.Value.Count >= 2).ToList();
                    if (candidates.Count == 0) break;
                    var (body, svs) = candidates[rng.Next(candidates.Count)];
                    var sv = svs.ElementAt(rng.Next(svs.Count));
                    var r = await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/{body}", DvidClient.Text($"[{sv}]"))).ExpectAsync(200);
                    using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
                    m.Body[sv] = doc.RootElement.GetProperty("CleavedLabel").GetUInt64();
                    break;
                }
                case "voxels":
                {
                    var svs = m.Voxels.Where(v => v != 0).Distinct().ToList();
                    var sv = svs[rng.Next(svs.Count)];
                    int sx = rng.Next(4, 24), sy = rng.Next(4, 24), sz = rng.Next(4, 24);
                    int ox = rng.Next(W - sx), oy = rng.Next(H - sy), oz = rng.Next(D - sz);
                    var fill = new ulong[sx * sy * sz];
                    fill.AsSpan().Fill(sv);
                    await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/{sx}_{sy}_{sz}/{ox}_{oy}_{oz}", new ByteArrayContent(MemoryMarshal.AsBytes(fill.AsSpan()).ToArray()))).ExpectAsync(200);
                    for (int z = oz; z < oz + sz; z++)
                        for (int y = oy; y < oy + sy; y++)
                            for (int x = ox; x < ox + sx; x++) m.Voxels[(z * H + y) * W + x] = sv;
                    break;
                }
                case "version":
                {
                    await (await _c.PostAsync($"/api/node/{uuid}/commit", DvidClient.Json(new { note = $"step {step}" }))).ExpectAsync(200);
                    versions.Add((uuid, m.Clone()));
                    uuid = await _c.NewVersionAsync(uuid);
                    break;
                }
            }
        }
        versions.Add((uuid, m));
        output.WriteLine($"seed {seed}: {string.Join(", ", counts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}; {versions.Count} versions, {m.Elements.Count} elements at the end");
        foreach (var (version, model) in versions) await CheckAsync(version, model);
    }

    private static (int X, int Y, int Z) RandomPos(Random rng) => (rng.Next(W), rng.Next(H), rng.Next(D));

    private async Task CheckAsync(string uuid, Model m)
    {
        var byBody = m.Elements.GroupBy(e => m.BodyOf(m.SvAt(e.Key))).Where(g => g.Key != 0).ToDictionary(g => g.Key, g => g.ToList());
        var bodies = byBody.Keys.Concat(m.Bodies().Keys).Concat(m.Body.Values).Distinct();
        foreach (var body in bodies)
        {
            var expected = byBody.GetValueOrDefault(body) ?? [];
            using var doc = JsonDocument.Parse(await _c.GetStringAsync($"/api/node/{uuid}/syn/label/{body}"));
            var got = doc.RootElement.EnumerateArray().Select(e => ($"{e.GetProperty("Pos")}", e.GetProperty("Kind").GetString())).OrderBy(x => x.Item1).ToList();
            var want = expected.Select(e => ($"[{e.Key.X},{e.Key.Y},{e.Key.Z}]", (string?)e.Value.Kind)).OrderBy(x => x.Item1).ToList();
            Assert.True(want.SequenceEqual(got), $"version {uuid}, body {body}: missing {string.Join(" ", want.Except(got))}; unexpected {string.Join(" ", got.Except(want))}");
        }
        foreach (var tag in TagNames)
        {
            var want = m.Elements.Where(e => e.Value.Tags.Contains(tag)).Select(e => $"[{e.Key.X},{e.Key.Y},{e.Key.Z}]").Order().ToList();
            using var doc = JsonDocument.Parse(await _c.GetStringAsync($"/api/node/{uuid}/syn/tag/{tag}"));
            Assert.Equal(want, doc.RootElement.EnumerateArray().Select(e => $"{e.GetProperty("Pos")}").Order().ToList());
        }
        foreach (var (index, counted) in new (string, Func<string, bool>)[] { ("AllSyn", k => k != "Note"), ("PreSyn", k => k == "PreSyn"), ("Note", k => k == "Note") })
        {
            var want = byBody.Select(kv => (Label: kv.Key, Size: kv.Value.Count(e => counted(e.Value.Kind)))).Where(x => x.Size > 0)
                .OrderByDescending(x => x.Size).ThenBy(x => x.Label).Select(x => $"{x.Label}:{x.Size}").ToList();
            using var doc = JsonDocument.Parse(await _c.GetStringAsync($"/api/node/{uuid}/sz/top/1000/{index}"));
            var got = doc.RootElement.EnumerateArray().Select(e => $"{e.GetProperty("Label").GetUInt64()}:{e.GetProperty("Size").GetUInt64()}").ToList();
            Assert.True(want.SequenceEqual(got), $"version {uuid}, {index}: expected {string.Join(" ", want)}, got {string.Join(" ", got)}");
        }
    }
}
