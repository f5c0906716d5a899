using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>
/// Issue 19: a resolve of an annotation instance takes its records by priority from different parents (a block from
/// one, a label or tag record from another); the child's label and tag records and the synced labelsz counts must then
/// describe exactly the elements the child's blocks hold, as a <c>reload</c> would rebuild them.
/// </summary>
public class AnnotationResolveTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    private static object El(int x, int y, int z, string kind, params string[] tags) => new { Pos = new[] { x, y, z }, Kind = kind, Tags = tags };

    private Task<string> Branch(string uuid, string name) => _c.BranchAsync(uuid, name);

    private async Task Post(string uuid, params object[] elements)
        => await (await _c.PostAsync($"/api/node/{uuid}/syn/elements", DvidClient.Json(elements))).ExpectAsync(200);

    /// <summary>Sorted "x,y,z" of the elements a label or tag query lists.</summary>
    private async Task<string> Listed(string uuid, string query)
    {
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/syn/{query}");
        if (doc.RootElement.ValueKind == JsonValueKind.Null) return "";
        return string.Join(" ", doc.RootElement.EnumerateArray().Select(e => string.Join(",", e.GetProperty("Pos").EnumerateArray().Select(p => p.GetInt32()))).Order(StringComparer.Ordinal));
    }

    private async Task<string> Counts(string uuid)
        => string.Join(" ", await Task.WhenAll(new[] { "PostSyn", "PreSyn", "AllSyn" }.Select(async i => $"{await _c.GetStringAsync($"/api/node/{uuid}/sz/count/3/{i}")}{await _c.GetStringAsync($"/api/node/{uuid}/sz/top/5/{i}")}")));

    [Fact]
    public async Task Resolving_an_annotation_leaves_label_and_tag_records_and_labelsz_counts_agreeing_with_the_blocks_taken()
    {
        // Supervoxel 3 fills x 0-15 of an 8³-block labelmap; the annotation follows it, the labelsz follows the annotation.
        var root = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(root, "labelmap", "seg", new { BlockSize = "8,8,8" });
        var voxels = Enumerable.Repeat(3UL, 16 * 8 * 8).ToArray();
        await (await _c.PostAsync($"/api/node/{root}/seg/raw/0_1_2/16_8_8/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(voxels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(root, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{root}/syn/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        await _c.CreateInstanceAsync(root, "labelsz", "sz");
        await (await _c.PostAsync($"/api/node/{root}/sz/sync", DvidClient.Json(new { sync = "syn" }))).ExpectAsync(200);
        await Post(root, El(5, 5, 5, "PreSyn", "t"));
        await _c.CommitAsync(root);
        // x changes block 0,0,0; y changes it too and block 1,0,0 alone: both change body 3's record and tag t's.
        var x = await Branch(root, "x");
        var y = await Branch(root, "y");
        await Post(x, El(1, 1, 1, "PostSyn", "t"));
        await Post(y, El(2, 2, 2, "PreSyn", "u"), El(10, 2, 2, "PostSyn", "t"));
        await _c.CommitAsync(x);
        await _c.CommitAsync(y);

        var refused = await _c.PostAsync($"/api/repo/{root}/merge", DvidClient.Json(new { mergeType = "conflict-free", parents = new[] { x, y } }));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var text = await refused.Content.ReadAsStringAsync();
        Assert.Contains("\"syn\"", text);
        Assert.Contains("\"sz\"", text);

        // Naming the annotation resolves its labelsz too. The block 0,0,0 comes from the first parent, 1,0,0 from y alone.
        foreach (var (first, second, label3, tagT, tagU, post, pre) in new[]
        {
            (x, y, "1,1,1 10,2,2 5,5,5", "1,1,1 10,2,2 5,5,5", "", 2, 1),
            (y, x, "10,2,2 2,2,2 5,5,5", "10,2,2 5,5,5", "2,2,2", 1, 2),
        })
        {
            var child = await (await _c.PostAsync($"/api/repo/{root}/resolve", DvidClient.Json(new { data = new[] { "syn" }, parents = new[] { first, second }, note = "r" }))).ChildAsync();

            Assert.Equal(label3, await Listed(child, "label/3"));
            Assert.Equal(tagT, await Listed(child, "tag/t"));
            Assert.Equal(tagU, await Listed(child, "tag/u"));
            Assert.Equal($"{{\"Label\":3,\"PostSyn\":{post}}}", await _c.GetStringAsync($"/api/node/{child}/sz/count/3/PostSyn"));
            Assert.Equal($"{{\"Label\":3,\"PreSyn\":{pre}}}", await _c.GetStringAsync($"/api/node/{child}/sz/count/3/PreSyn"));
            // One rank per body and index: the rank keys of the parents' counts are gone.
            Assert.Equal($"[{{\"Label\":3,\"Size\":{pre}}}]", await _c.GetStringAsync($"/api/node/{child}/sz/top/5/PreSyn"));
            Assert.Equal($"[{{\"Label\":3,\"Size\":{post + pre}}}]", await _c.GetStringAsync($"/api/node/{child}/sz/top/5/AllSyn"));

            // What reload rebuilds from the blocks is what the resolve left.
            var before = (await Listed(child, "label/3"), await Listed(child, "tag/t"), await Listed(child, "tag/u"), await Counts(child));
            await (await _c.PostAsync($"/api/node/{child}/syn/reload", null)).ExpectAsync(200);
            Assert.Equal(before, (await Listed(child, "label/3"), await Listed(child, "tag/t"), await Listed(child, "tag/u"), await Counts(child)));
        }
    }

    /// <summary>Regression (issue 19 review): resolving only the labels took a label block by priority while the
    /// annotation following them kept the other side's element records, so an element stayed listed under the body its
    /// voxel no longer belonged to. For labelmaps, and for a labelblk followed through a labelvol.</summary>
    [Theory]
    [InlineData("labelmap")]
    [InlineData("labelblk")]
    public async Task Resolving_only_the_labels_relabels_the_annotations_that_follow_them(string labelType)
    {
        var root = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(root, labelType, "seg", new { BlockSize = "8,8,8" });
        var voxels = Enumerable.Repeat(3UL, 8 * 8 * 8).ToArray();
        await (await _c.PostAsync($"/api/node/{root}/seg/raw/0_1_2/8_8_8/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(voxels.AsSpan()).ToArray()))).ExpectAsync(200);
        var followed = "seg";
        if (labelType == "labelblk")
        {
            await _c.CreateInstanceAsync(root, "labelvol", "bodies", new { BlockSize = "8,8,8" });
            await (await _c.PostAsync($"/api/node/{root}/bodies/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
            await (await _c.PostAsync($"/api/node/{root}/seg/sync", DvidClient.Json(new { sync = "bodies" }))).ExpectAsync(200);
            followed = "bodies";
        }
        await _c.CreateInstanceAsync(root, "annotation", "syn");
        await (await _c.PostAsync($"/api/node/{root}/syn/sync", DvidClient.Json(new { sync = followed }))).ExpectAsync(200);
        await _c.CreateInstanceAsync(root, "labelsz", "sz");
        await (await _c.PostAsync($"/api/node/{root}/sz/sync", DvidClient.Json(new { sync = "syn" }))).ExpectAsync(200);
        await Post(root, El(2, 2, 2, "PreSyn"));
        await _c.CommitAsync(root);
        var a = await Branch(root, "a");
        var b = await Branch(root, "b");
        // a relabels the voxel under the element (the annotation follows: the element joins body 9); b changes
        // another voxel of the same block, so the label block conflicts and the annotation does not.
        async Task Voxel(string uuid, int at, ulong label)
        {
            var block = Enumerable.Repeat(3UL, 512).ToArray();
            block[at] = label;
            await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/8_8_8/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(block.AsSpan()).ToArray()))).ExpectAsync(200);
        }
        await Voxel(a, (2 * 8 + 2) * 8 + 2, 9);
        await Voxel(b, (6 * 8 + 6) * 8 + 6, 11);
        await _c.CommitAsync(a);
        await _c.CommitAsync(b);
        Assert.Equal("2,2,2", await Listed(a, "label/9"));

        var child = await (await _c.PostAsync($"/api/repo/{root}/resolve", DvidClient.Json(new { data = new[] { "seg" }, parents = new[] { b, a }, note = "b wins" }))).ChildAsync();
        using (var label = await _c.GetJsonAsync($"/api/node/{child}/seg/label/2_2_2"))
            Assert.Equal(3UL, label.RootElement.GetProperty("Label").GetUInt64()); // b's block: the voxel is 3 again
        Assert.Equal("2,2,2", await Listed(child, "label/3"));
        Assert.Equal("", await Listed(child, "label/9"));
        Assert.Equal("""{"Label":3,"PreSyn":1}""", await _c.GetStringAsync($"/api/node/{child}/sz/count/3/PreSyn"));
        Assert.Equal("""[{"Label":3,"Size":1}]""", await _c.GetStringAsync($"/api/node/{child}/sz/top/5/PreSyn"));
    }
}
