using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>labelsz (issue 14): DVID's count, counts, top and threshold, kept with every annotation and label change.</summary>
public class LabelszTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A labelmap with supervoxel (and body) k + 1 in x-slab k of 16 voxels (64³), an annotation and a labelsz synced in a chain.</summary>
    private async Task<string> ChainAsync(object? labelszConfig = null)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[64 * 64 * 64];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i % 64 / 16);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "labelsz", "sz", labelszConfig);
        await (await _c.PostAsync($"/api/node/{uuid}/sz/sync", DvidClient.Json(new { sync = "syn" }))).ExpectAsync(200);
        return uuid;
    }

    /// <summary>Elements of <paramref name="kind"/> in body <paramref name="body"/> (x-slab body − 1), <paramref name="n"/> of them along y.</summary>
    private async Task PostAsync(string uuid, int body, string kind, int n, int z = 0)
    {
        var elements = Enumerable.Range(0, n).Select(i => new { Pos = new[] { (body - 1) * 16 + 1, i, z }, Kind = kind });
        await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Json(elements))).ExpectAsync(200);
    }

    [Fact]
    public async Task Counts_and_rankings_come_in_dvids_json()
    {
        var uuid = await ChainAsync();
        await PostAsync(uuid, 1, "PreSyn", 3);
        await PostAsync(uuid, 2, "PreSyn", 5);
        await PostAsync(uuid, 3, "PreSyn", 3);
        await PostAsync(uuid, 3, "PostSyn", 2, z: 1);
        await PostAsync(uuid, 4, "Note", 9);
        Assert.Equal("""{"Label":2,"PreSyn":5}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/2/PreSyn"));
        Assert.Equal("""{"Label":77,"Gap":0}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/77/Gap"));
        // Ties are ranked by the smaller body.
        Assert.Equal("""[{"Label":2,"Size":5},{"Label":1,"Size":3},{"Label":3,"Size":3}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/10/PreSyn"));
        Assert.Equal("""[{"Label":2,"Size":5}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/1/PreSyn"));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/0/PreSyn"));
        // AllSyn counts PreSyn, PostSyn and Gap, not notes.
        Assert.Equal("""[{"Label":2,"Size":5},{"Label":3,"Size":5},{"Label":1,"Size":3}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/10/AllSyn"));
        Assert.Equal("""[{"Label":4,"Size":9}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/10/Note"));
        // Threshold pages (0-based offset), neuclease's last call past the end gets [].
        Assert.Equal("""[{"Label":1,"Size":3},{"Label":3,"Size":3}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/threshold/3/PreSyn?offset=1&n=2"));
        Assert.Equal("""[{"Label":2,"Size":5}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/threshold/4/PreSyn"));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/sz/threshold/3/PreSyn?offset=3&n=10000"));
        // counts: a JSON array of labels in the GET body, in its order.
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/sz/counts/PreSyn") { Content = DvidClient.Json(new[] { 3, 99, 2 }) };
        Assert.Equal("""[{"Label":3,"PreSyn":3},{"Label":99,"PreSyn":0},{"Label":2,"PreSyn":5}]""", await (await (await _c.SendAsync(req)).ExpectAsync(200)).Content.ReadAsStringAsync());
        var empty = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/sz/counts/PreSyn");
        await (await _c.SendAsync(empty)).ExpectErrorAsync(400, "unexpected end of JSON input");
        await (await _c.GetAsync($"/api/node/{uuid}/sz/top/3/presyn")).ExpectErrorAsync(400, "unknown index type specified (\"presyn\")");
        await (await _c.GetAsync($"/api/node/{uuid}/sz/threshold/1/PreSyn?n=-1")).ExpectErrorAsync(400, "bad number of requested labels");
    }

    [Fact]
    public async Task Counts_follow_element_changes_merges_and_cleaves()
    {
        var uuid = await ChainAsync();
        await PostAsync(uuid, 1, "PreSyn", 3);
        await PostAsync(uuid, 2, "PreSyn", 2);
        // Moving an element between bodies; changing its kind in place.
        await (await _c.PostAsync($"/api/node/{uuid}/syn/move/1_0_0/17_40_0", DvidClient.Text(""))).ExpectAsync(200);
        Assert.Equal("""[{"Label":2,"Size":3},{"Label":1,"Size":2}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/5/PreSyn"));
        await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Text("""[{"Pos":[1,1,0],"Kind":"PostSyn"}]"""))).ExpectAsync(200);
        Assert.Equal("""{"Label":1,"PreSyn":1}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/1/PreSyn"));
        Assert.Equal("""{"Label":1,"PostSyn":1}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/1/PostSyn"));
        // A merge is counted as soon as it returns.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text("[2, 1]"))).ExpectAsync(200);
        Assert.Equal("""[{"Label":2,"Size":4}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/5/PreSyn"));
        Assert.Equal("""{"Label":1,"PreSyn":0}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/1/PreSyn"));
        var cleave = await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/2", DvidClient.Text("[1]"))).ExpectAsync(200);
        using var doc = JsonDocument.Parse(await cleave.Content.ReadAsStringAsync());
        var cleaved = doc.RootElement.GetProperty("CleavedLabel").GetUInt64();
        Assert.Equal($$"""[{"Label":2,"Size":3},{"Label":{{cleaved}},"Size":1}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/5/PreSyn"));
        await (await _c.DeleteAsync($"/api/node/{uuid}/syn/element/1_2_0")).ExpectAsync(200);
        Assert.Equal($$"""[{"Label":2,"Size":3}]""", await _c.GetStringAsync($"/api/node/{uuid}/sz/top/5/PreSyn"));
    }

    [Fact]
    public async Task An_roi_restricts_what_is_counted()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "roi", "r", new { BlockSize = "32,32,32" });
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text("[[0,0,0,0]]"))).ExpectAsync(200); // voxels 0-31 in every axis
        var chain = await ChainInRepoAsync(uuid, new { ROI = $"r,{uuid}" });
        await PostAsync(chain, 1, "PreSyn", 40); // y 0..39: 32 of them inside the ROI
        Assert.Equal("""{"Label":1,"PreSyn":32}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/1/PreSyn"));
        // Moving an element out of the ROI within its body is counted too.
        await (await _c.PostAsync($"/api/node/{uuid}/syn/move/1_0_0/1_50_0", DvidClient.Text(""))).ExpectAsync(200);
        Assert.Equal("""{"Label":1,"PreSyn":31}""", await _c.GetStringAsync($"/api/node/{uuid}/sz/count/1/PreSyn"));
        var r = await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "labelsz", dataname = "bad2", ROI = "nocomma" }));
        await r.ExpectErrorAsync(400, "bad ROI value");
    }

    private async Task<string> ChainInRepoAsync(string uuid, object labelszConfig)
    {
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[64 * 64 * 64];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i % 64 / 16);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "labelsz", "sz", labelszConfig);
        await (await _c.PostAsync($"/api/node/{uuid}/sz/sync", DvidClient.Json(new { sync = "syn" }))).ExpectAsync(200);
        return uuid;
    }

    [Fact]
    public async Task A_late_sync_and_reload_count_what_is_already_there()
    {
        var uuid = await ChainAsync();
        await PostAsync(uuid, 2, "PostSyn", 4);
        await _c.CreateInstanceAsync(uuid, "labelsz", "late");
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/late/top/5/PostSyn"));
        await (await _c.PostAsync($"/api/node/{uuid}/late/sync", DvidClient.Json(new { sync = "syn" }))).ExpectAsync(200);
        Assert.Equal("""[{"Label":2,"Size":4}]""", await _c.GetStringAsync($"/api/node/{uuid}/late/top/5/PostSyn"));
        await (await _c.PostAsync($"/api/node/{uuid}/late/reload", DvidClient.Text(""))).ExpectAsync(200);
        Assert.Equal("""[{"Label":2,"Size":4}]""", await _c.GetStringAsync($"/api/node/{uuid}/late/top/5/PostSyn"));
        await (await _c.PostAsync($"/api/node/{uuid}/late/sync", DvidClient.Json(new { sync = "seg" }))).ExpectErrorAsync(400, "cannot sync with");
    }
}
