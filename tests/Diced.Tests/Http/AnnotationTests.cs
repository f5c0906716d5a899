using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>The annotation datatype (issue 14): DVID's element JSON and routes, indices that follow the synced labels.</summary>
public class AnnotationTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A labelmap "seg" of 128×64×64 voxels in two 64³ blocks: supervoxel 1 at x &lt; 32, 2 at 32–63, 3 at 64–95,
    /// 4 beyond; an annotation "syn" synced to it.</summary>
    private async Task<string> SyncedAsync()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[128 * 64 * 64];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i % 128 / 32);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        return uuid;
    }

    private const string Synapse = """
        [{"Pos":[10,5,5],"Kind":"PreSyn","Tags":["t1"],"Prop":{"conf":"0.9","user":"a<b>&'c"},"Rels":[{"Rel":"PreSynTo","To":[40,5,5]},{"Rel":"PreSynTo","To":[70,5,5]}]},
         {"Pos":[40,5,5],"Kind":"PostSyn","Rels":[{"Rel":"PostSynTo","To":[10,5,5]}]},
         {"pos":[70,5,5],"kind":"PostSyn","Tags":["t1","t2"],"Rels":[{"Rel":"PostSynTo","To":[10,5,5]}],"Extra":"ignored"}]
        """;

    private async Task PostAsync(string uuid, string json) => await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Text(json))).ExpectAsync(200);

    private async Task<HashSet<string>> PositionsAsync(string url)
    {
        using var doc = JsonDocument.Parse(await _c.GetStringAsync(url));
        if (doc.RootElement.ValueKind == JsonValueKind.Null) return [];
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("Pos").GetRawText()).ToHashSet();
    }

    [Fact]
    public async Task Elements_come_back_in_dvids_json()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        // Go's field order and escapes (<, >, & as \u00xx; the apostrophe as is), properties by key, missing lists empty.
        Assert.Equal("""[{"Pos":[10,5,5],"Kind":"PreSyn","Tags":["t1"],"Prop":{"conf":"0.9","user":"a\u003cb\u003e\u0026'c"},"Rels":[{"Rel":"PreSynTo","To":[40,5,5]},{"Rel":"PreSynTo","To":[70,5,5]}]},{"Pos":[40,5,5],"Kind":"PostSyn","Tags":[],"Prop":{},"Rels":[{"Rel":"PostSynTo","To":[10,5,5]}]}]""",
            await _c.GetStringAsync($"/api/node/{uuid}/syn/elements/64_64_64/0_0_0"));
        Assert.Equal("null", await _c.GetStringAsync($"/api/node/{uuid}/syn/elements/10_10_10/0_20_0"));
        // Blocks: every element of the blocks meeting the box, keyed "x,y,z".
        var blocks = await _c.GetStringAsync($"/api/node/{uuid}/syn/blocks/1_1_1/100_0_0");
        Assert.StartsWith("""{"1,0,0":[{"Pos":[70,5,5],"Kind":"PostSyn","Tags":["t1","t2"],"Prop":{},"Rels":[""", blocks);
        Assert.Equal("{}", await _c.GetStringAsync($"/api/node/{uuid}/syn/blocks/64_64_64/0_64_0"));
        using (var all = JsonDocument.Parse(await _c.GetStringAsync($"/api/node/{uuid}/syn/all-elements")))
            Assert.Equal(["0,0,0", "1,0,0"], all.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("""{"num kv pairs":2,"num empty blocks":0}""", await _c.GetStringAsync($"/api/node/{uuid}/syn/scan"));
        // Label lists: without relationships, with them, and verbose (partners' kind, tags and properties).
        Assert.Equal("""[{"Pos":[10,5,5],"Kind":"PreSyn","Tags":["t1"],"Prop":{"conf":"0.9","user":"a\u003cb\u003e\u0026'c"}}]""",
            await _c.GetStringAsync($"/api/node/{uuid}/syn/label/1"));
        Assert.Equal("""[{"Pos":[70,5,5],"Kind":"PostSyn","Tags":["t1","t2"],"Prop":{},"Rels":[{"Rel":"PostSynTo","To":[10,5,5]}]}]""",
            await _c.GetStringAsync($"/api/node/{uuid}/syn/label/3?relationships=true"));
        Assert.Equal("""[{"Pos":[40,5,5],"Kind":"PostSyn","Tags":[],"Prop":{},"Rels":[{"Rel":"PostSynTo","To":[10,5,5],"Kind":"PreSyn","Tags":["t1"],"Prop":{"conf":"0.9","user":"a\u003cb\u003e\u0026'c"}}]}]""",
            await _c.GetStringAsync($"/api/node/{uuid}/syn/label/2?relationships=verbose"));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/99"));
        Assert.Equal(["[10,5,5]", "[70,5,5]"], (await PositionsAsync($"/api/node/{uuid}/syn/tag/t1")).Order());
        await (await _c.GetAsync($"/api/node/{uuid}/syn/label/0")).ExpectErrorAsync(400, "protected");
    }

    [Fact]
    public async Task Posting_at_a_position_replaces_the_element_and_its_index_entries()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        await PostAsync(uuid, """[{"Pos":[70,5,5],"Kind":"Note","Tags":["t3"]},{"Pos":[70,5,5],"Kind":"Gap","Tags":["t4"]}]""");
        using var doc = JsonDocument.Parse(await _c.GetStringAsync($"/api/node/{uuid}/syn/label/3"));
        var e = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("Gap", e.GetProperty("Kind").GetString()); // the last of several at one position wins
        Assert.Equal(["[10,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/tag/t1"));
        Assert.Empty(await PositionsAsync($"/api/node/{uuid}/syn/tag/t2"));
        Assert.Equal(["[70,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/tag/t4"));
    }

    [Fact]
    public async Task Deleting_and_moving_keep_relationships_and_indices_whole()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        // Move a PostSyn into another body: its partner's relationship follows, and so do the label lists.
        await (await _c.PostAsync($"/api/node/{uuid}/syn/move/70_5_5/100_6_6", DvidClient.Text(""))).ExpectAsync(200);
        Assert.Empty(await PositionsAsync($"/api/node/{uuid}/syn/label/3"));
        Assert.Equal(["[100,6,6]"], await PositionsAsync($"/api/node/{uuid}/syn/label/4"));
        Assert.Equal(["[10,5,5]", "[100,6,6]"], (await PositionsAsync($"/api/node/{uuid}/syn/tag/t1")).Order());
        Assert.Contains("""{"Rel":"PreSynTo","To":[100,6,6]}""", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/1?relationships=true"));
        // A move within one body updates its list too (DVID's list keeps the old position).
        await (await _c.PostAsync($"/api/node/{uuid}/syn/move/40_5_5/41_5_5", DvidClient.Text(""))).ExpectAsync(200);
        Assert.Equal(["[41,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/2?relationships=true"));
        // Deleting the PreSyn removes the relationships that point at it.
        await (await _c.DeleteAsync($"/api/node/{uuid}/syn/element/10_5_5")).ExpectAsync(200);
        Assert.Empty(await PositionsAsync($"/api/node/{uuid}/syn/label/1"));
        Assert.Contains("\"Rels\":[]", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/2?relationships=true"));
        Assert.Contains("\"Rels\":[]", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/4?relationships=true"));
        Assert.Equal(["[100,6,6]"], await PositionsAsync($"/api/node/{uuid}/syn/tag/t1"));
        await (await _c.DeleteAsync($"/api/node/{uuid}/syn/element/10_5_5")).ExpectErrorAsync(400, "Did not find element (10,5,5)");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/move/1_1_1/2_2_2", DvidClient.Text(""))).ExpectErrorAsync(400, "Did not find moved element (1,1,1)");
        var log = await _c.GetStringAsync($"/api/node/{uuid}/syn/mutations");
        Assert.Contains("\"element-move\"", log);
        Assert.Contains("\"element-delete\"", log);
    }

    [Fact]
    public async Task Label_lists_follow_merges_cleaves_voxel_writes_and_renumbers_at_once()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text("[1, 2, 3]"))).ExpectAsync(200);
        Assert.Equal(["[10,5,5]", "[40,5,5]", "[70,5,5]"], (await PositionsAsync($"/api/node/{uuid}/syn/label/1")).Order());
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/2"));
        var cleave = await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/1", DvidClient.Text("[3]"))).ExpectAsync(200);
        using (var doc = JsonDocument.Parse(await cleave.Content.ReadAsStringAsync()))
        {
            var cleaved = doc.RootElement.GetProperty("CleavedLabel").GetUInt64();
            Assert.Equal(["[70,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/{cleaved}"));
            Assert.Equal(["[10,5,5]", "[40,5,5]"], (await PositionsAsync($"/api/node/{uuid}/syn/label/1")).Order());
            // Voxels written under an element move it to the body of its new supervoxel (4).
            var block = new ulong[8 * 8 * 8];
            block.AsSpan().Fill(4);
            await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/8_8_8/8_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(block.AsSpan()).ToArray()))).ExpectAsync(200);
            Assert.Equal(["[40,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/1"));
            Assert.Equal(["[10,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/4"));
            await (await _c.PostAsync($"/api/node/{uuid}/seg/renumber", DvidClient.Text($"[500, {cleaved}]"))).ExpectAsync(200);
            Assert.Equal(["[70,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/500"));
            Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/{cleaved}"));
        }
    }

    [Fact]
    public async Task Posted_blocks_replace_blocks_and_are_indexed_at_once()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        await (await _c.PostAsync($"/api/node/{uuid}/syn/blocks", DvidClient.Text("""{"0,0,0":[{"Pos":[1,2,3],"Kind":"PreSyn"}], "1,0,0":[]}"""))).ExpectAsync(200);
        Assert.Equal(["[1,2,3]"], await PositionsAsync($"/api/node/{uuid}/syn/label/1"));
        Assert.Empty(await PositionsAsync($"/api/node/{uuid}/syn/label/3"));
        Assert.Empty(await PositionsAsync($"/api/node/{uuid}/syn/tag/t1"));
        Assert.Equal("""{"num kv pairs":1,"num empty blocks":0}""", await _c.GetStringAsync($"/api/node/{uuid}/syn/scan"));
        await (await _c.PostAsync($"/api/node/{uuid}/syn/blocks", DvidClient.Text("""{"0,0,0":[{"Pos":[70,2,3],"Kind":"PreSyn"}]}"""))).ExpectErrorAsync(400, "is not in block");
        Assert.Equal(["[1,2,3]"], await PositionsAsync($"/api/node/{uuid}/syn/label/1"));
    }

    [Fact]
    public async Task Elements_posted_before_the_sync_are_labelled_by_it_and_reload_rebuilds()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[64 * 64 * 64];
        labels.AsSpan().Fill(7);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await PostAsync(uuid, """[{"Pos":[1,2,3],"Kind":"PreSyn"}]""");
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/7")); // not synced: no label lists
        await (await _c.PostAsync($"/api/node/{uuid}/syn/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        Assert.Equal(["[1,2,3]"], await PositionsAsync($"/api/node/{uuid}/syn/label/7"));
        await (await _c.PostAsync($"/api/node/{uuid}/syn/reload", DvidClient.Text(""))).ExpectAsync(200);
        Assert.Equal(["[1,2,3]"], await PositionsAsync($"/api/node/{uuid}/syn/label/7"));
    }

    [Fact]
    public async Task Syncs_take_the_labels_block_size_and_are_checked()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelblk", "lb", new { BlockSize = "32,32,32" });
        await _c.CreateInstanceAsync(uuid, "annotation", "fresh");
        await (await _c.PostAsync($"/api/node/{uuid}/fresh/sync", DvidClient.Json(new { sync = "lb" }))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/fresh/elements", DvidClient.Text("""[{"Pos":[40,1,1],"Kind":"Note"}]"""))).ExpectAsync(200);
        Assert.Contains("\"1,0,0\"", await _c.GetStringAsync($"/api/node/{uuid}/fresh/all-elements")); // 32³ blocks now
        await _c.CreateInstanceAsync(uuid, "annotation", "full");
        await (await _c.PostAsync($"/api/node/{uuid}/full/elements", DvidClient.Text("""[{"Pos":[40,1,1],"Kind":"Note"}]"""))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/full/sync", DvidClient.Json(new { sync = "lb" }))).ExpectErrorAsync(400, "block size");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await (await _c.PostAsync($"/api/node/{uuid}/full/sync", DvidClient.Json(new { sync = "kv" }))).ExpectErrorAsync(400, "cannot sync with");
        await (await _c.PostAsync($"/api/node/{uuid}/full/sync", DvidClient.Json(new { sync = "nosuch" }))).ExpectErrorAsync(400, "nosuch");
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/full/info");
        Assert.Equal(0, info.RootElement.GetProperty("Base").GetProperty("Syncs").GetArrayLength());
    }

    [Fact]
    public async Task Bad_input_is_refused_and_changes_nothing()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        var before = await _c.GetStringAsync($"/api/node/{uuid}/syn/all-elements");
        string[] bad =
        [
            "[{\"Pos\":[1,2,3],\"Kind\":\"postsyn\"}]", "[{\"Pos\":[1,2,3000000000],\"Kind\":\"PreSyn\"}]", "[{\"Pos\":[1,2,3.5],\"Kind\":\"PreSyn\"}]",
            "[{\"Kind\":\"PreSyn\"}]", "[{\"Pos\":[1,2,3],\"Kind\":\"PreSyn\",\"Rels\":[{\"Rel\":\"Friend\",\"To\":[1,1,1]}]}]",
            "[{\"Pos\":[1,2,3],\"Kind\":\"PreSyn\",\"Tags\":[\"\"]}]", "{\"Pos\":[1,2,3]}", "[{\"Pos\":[1,2,3],\"Kind\":\"PreSyn\"}", "",
            "[{\"Pos\":[1,2,3],\"Kind\":\"PreSyn\",\"Prop\":{\"a\":1}}]",
        ];
        foreach (var body in bad)
            await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Text(body))).ExpectErrorAsync(400, "");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/move/10_5_5/1_2", DvidClient.Text(""))).ExpectErrorAsync(400, "to coordinate");
        Assert.Equal(before, await _c.GetStringAsync($"/api/node/{uuid}/syn/all-elements"));
    }

    [Fact]
    public async Task Versions_keep_their_own_elements_and_locked_nodes_do_not_change()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        await (await _c.PostAsync($"/api/node/{uuid}/commit", DvidClient.Json(new { note = "v1" }))).ExpectAsync(200);
        var child = await _c.NewVersionAsync(uuid);
        await (await _c.DeleteAsync($"/api/node/{child}/syn/element/10_5_5")).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{child}/seg/merge", DvidClient.Text("[2, 3]"))).ExpectAsync(200);
        Assert.Equal(["[40,5,5]", "[70,5,5]"], (await PositionsAsync($"/api/node/{child}/syn/label/2")).Order());
        // The parent is as it was committed.
        Assert.Equal(["[10,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/1"));
        Assert.Equal(["[40,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/label/2"));
        await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Text("""[{"Pos":[1,1,1],"Kind":"Note"}]"""))).ExpectErrorAsync(400, "locked");
    }

    [Fact]
    public async Task Label_lists_can_be_posted_to_an_unsynced_instance()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{uuid}/syn/labels", DvidClient.Json(new Dictionary<string, string> { ["23"] = """[{"Pos":[1,2,3],"Kind":"PreSyn"}]""" }))).ExpectAsync(200);
        Assert.Equal("""[{"Pos":[1,2,3],"Kind":"PreSyn","Tags":[],"Prop":{}}]""", await _c.GetStringAsync($"/api/node/{uuid}/syn/label/23"));
        await (await _c.PostAsync($"/api/node/{uuid}/syn/labels", DvidClient.Json(new Dictionary<string, string> { ["x"] = "[]" }))).ExpectErrorAsync(400, "not a non-negative");
        var synced = await SyncedAsync();
        await (await _c.PostAsync($"/api/node/{synced}/syn/labels", DvidClient.Json(new Dictionary<string, string> { ["1"] = "[]" }))).ExpectErrorAsync(400, "synced to labels");
    }

    [Fact]
    public async Task Roi_queries_return_the_elements_of_the_rois_blocks()
    {
        var uuid = await SyncedAsync();
        await PostAsync(uuid, Synapse);
        await _c.CreateInstanceAsync(uuid, "roi", "r", new { BlockSize = "64,64,64" });
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text("[[0,0,1,1]]"))).ExpectAsync(200);
        Assert.Equal(["[70,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/roi/r"));
        Assert.Equal(["[70,5,5]"], await PositionsAsync($"/api/node/{uuid}/syn/roi/r,{uuid}"));
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text("[[0,1,0,1]]"))).ExpectAsync(200);
        Assert.Equal("null", await _c.GetStringAsync($"/api/node/{uuid}/syn/roi/r"));
        await _c.CreateInstanceAsync(uuid, "roi", "small");
        await (await _c.GetAsync($"/api/node/{uuid}/syn/roi/small")).ExpectErrorAsync(400, "same block size");
    }
}
