using System.Net;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>
/// Issue 19: DVID's merge and resolve, with conflicts found at merge time (a 409 naming instances and keys) instead
/// of at a later read.
/// </summary>
public class MergeTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A locked root with a keyvalue, an 8³-block image and a labelmap, and two committed branches of it.</summary>
    private async Task<(string Root, string A, string B)> TwoBranchesAsync(Func<string, Task> onA, Func<string, Task> onB)
    {
        var root = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(root, "keyvalue", "kv");
        await _c.CreateInstanceAsync(root, "uint8blk", "grey", new { BlockSize = "8,8,8" });
        await _c.PutKeyAsync(root, "kv", "shared", "0"u8.ToArray());
        await _c.CommitAsync(root);
        var a = await Branch(root, "a");
        var b = await Branch(root, "b");
        await onA(a);
        await onB(b);
        await _c.CommitAsync(a);
        await _c.CommitAsync(b);
        return (root, a, b);
    }

    private Task<string> Branch(string uuid, string name) => _c.BranchAsync(uuid, name);

    private async Task WriteGrey(string uuid, int x, byte value)
        => await (await _c.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/8_8_8/{x}_0_0", new ByteArrayContent(Enumerable.Repeat(value, 512).ToArray()))).ExpectAsync(200);

    private async Task<HttpResponseMessage> Merge(string root, params string[] parents)
        => await _c.PostAsync($"/api/repo/{root}/merge", DvidClient.Json(new { mergeType = "conflict-free", parents, note = "merged" }));

    private static Task<string> Child(HttpResponseMessage r) => r.ChildAsync();

    private async Task<byte[]> Grey(string uuid, int x) => await (await (await _c.GetAsync($"/api/node/{uuid}/grey/raw/0_1_2/8_8_8/{x}_0_0")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();

    [Fact]
    public async Task Disjoint_changes_merge_into_an_open_child_that_sees_both_sides()
    {
        var (root, a, b) = await TwoBranchesAsync(
            async a => { await _c.PutKeyAsync(a, "kv", "left", "L"u8.ToArray()); await WriteGrey(a, 0, 10); await _c.PutKeyAsync(a, "kv", "same", "S"u8.ToArray()); },
            async b => { await _c.PutKeyAsync(b, "kv", "right", "R"u8.ToArray()); await WriteGrey(b, 16, 20); await _c.PutKeyAsync(b, "kv", "same", "S"u8.ToArray()); });
        var child = await Child(await Merge(root, a, b));
        Assert.Equal("L", await _c.GetStringAsync($"/api/node/{child}/kv/key/left"));
        Assert.Equal("R", await _c.GetStringAsync($"/api/node/{child}/kv/key/right"));
        Assert.Equal("S", await _c.GetStringAsync($"/api/node/{child}/kv/key/same")); // the same value on both sides is no conflict
        Assert.Equal("0", await _c.GetStringAsync($"/api/node/{child}/kv/key/shared"));
        Assert.All(await Grey(child, 0), v => Assert.Equal(10, v));
        Assert.All(await Grey(child, 16), v => Assert.Equal(20, v));
        // Both sides grew the extents: the child has their union.
        using var info = await _c.GetJsonAsync($"/api/node/{child}/grey/info");
        Assert.Equal([0, 0, 0], info.RootElement.GetProperty("Extended").GetProperty("MinPoint").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([23, 7, 7], info.RootElement.GetProperty("Extended").GetProperty("MaxPoint").EnumerateArray().Select(e => e.GetInt32()));
        // The DAG shows the merge as DVID does: two parents, a child of each; the child is open.
        using var repo = await _c.GetJsonAsync($"/api/repo/{root}/info");
        var nodes = repo.RootElement.GetProperty("DAG").GetProperty("Nodes");
        var merged = nodes.GetProperty(child);
        Assert.False(merged.GetProperty("Locked").GetBoolean());
        Assert.Equal("merged", merged.GetProperty("Note").GetString());
        var ids = new[] { a, b }.Select(u => nodes.GetProperty(u).GetProperty("VersionID").GetInt64()).ToHashSet();
        Assert.Equal(ids, merged.GetProperty("Parents").EnumerateArray().Select(e => e.GetInt64()).ToHashSet());
        foreach (var p in new[] { a, b })
            Assert.Contains(merged.GetProperty("VersionID").GetInt64(), nodes.GetProperty(p).GetProperty("Children").EnumerateArray().Select(e => e.GetInt64()));
        await _c.PutKeyAsync(child, "kv", "after", "x"u8.ToArray());
    }

    [Fact]
    public async Task Conflicts_are_a_409_naming_instances_and_keys_and_create_nothing_until_resolved_by_priority()
    {
        var (root, a, b) = await TwoBranchesAsync(
            async a => { await _c.PutKeyAsync(a, "kv", "x", "from a"u8.ToArray()); await WriteGrey(a, 0, 1); },
            async b => { await _c.PutKeyAsync(b, "kv", "x", "from b"u8.ToArray()); await WriteGrey(b, 0, 2); await _c.DeleteAsync($"/api/node/{b}/kv/key/shared"); });
        using var before = await _c.GetJsonAsync($"/api/repo/{root}/info");
        var r = await Merge(root, a, b);
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        using (var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync()))
        {
            var conflicts = doc.RootElement.GetProperty("conflicts").EnumerateArray().ToDictionary(c => c.GetProperty("instance").GetString()!, c => c.GetProperty("keys").EnumerateArray().Select(k => k.GetString()).ToList());
            Assert.Equal(["grey", "kv"], conflicts.Keys.Order());
            Assert.Equal(["x"], conflicts["kv"]); // "shared" was changed on one side only
            Assert.Equal(["block 0,0,0"], conflicts["grey"]);
            Assert.Contains("resolve", doc.RootElement.GetProperty("error").GetString());
        }
        using var after = await _c.GetJsonAsync($"/api/repo/{root}/info");
        Assert.Equal(before.RootElement.GetProperty("DAG").GetProperty("Nodes").EnumerateObject().Count(), after.RootElement.GetProperty("DAG").GetProperty("Nodes").EnumerateObject().Count());

        // Resolve naming only kv: grey's conflict still refuses the merge.
        r = await _c.PostAsync($"/api/repo/{root}/resolve", DvidClient.Json(new { data = new[] { "kv" }, parents = new[] { b, a }, note = "r" }));
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        var bFirst = await Child(await _c.PostAsync($"/api/repo/{root}/resolve", DvidClient.Json(new { data = new[] { "kv", "grey" }, parents = new[] { b, a }, note = "b wins" })));
        Assert.Equal("from b", await _c.GetStringAsync($"/api/node/{bFirst}/kv/key/x"));
        Assert.All(await Grey(bFirst, 0), v => Assert.Equal(2, v));
        Assert.Equal(HttpStatusCode.NotFound, (await _c.GetAsync($"/api/node/{bFirst}/kv/key/shared")).StatusCode);
        var aFirst = await Child(await _c.PostAsync($"/api/repo/{root}/resolve", DvidClient.Json(new { data = new[] { "kv", "grey" }, parents = new[] { a, b }, note = "a wins" })));
        Assert.Equal("from a", await _c.GetStringAsync($"/api/node/{aFirst}/kv/key/x"));
        Assert.All(await Grey(aFirst, 0), v => Assert.Equal(1, v));
        Assert.Equal(HttpStatusCode.NotFound, (await _c.GetAsync($"/api/node/{aFirst}/kv/key/shared")).StatusCode); // deleted on b only
    }

    private Task WriteLabels(string uuid, int x, ulong label, int count = 512, ulong rest = 0)
    {
        var voxels = new ulong[512];
        Array.Fill(voxels, rest);
        Array.Fill(voxels, label, 0, count);
        return _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/8_8_8/{x}_0_0", new ByteArrayContent(System.Runtime.InteropServices.MemoryMarshal.AsBytes(voxels.AsSpan()).ToArray()))
            .ContinueWith(t => t.Result.ExpectAsync(200)).Unwrap();
    }

    [Fact]
    public async Task Label_edits_merge_with_indices_intact_and_overlapping_ones_resolve_with_indices_counted_again()
    {
        var root2 = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(root2, "labelmap", "seg", new { BlockSize = "8,8,8", MaxDownresLevel = "1" });
        await WriteLabels(root2, 0, 3);
        await _c.CommitAsync(root2);
        var left = await Branch(root2, "left");
        var right = await Branch(root2, "right");
        await WriteLabels(left, 8, 5);
        await WriteLabels(right, 16, 7, count: 100);
        await _c.CommitAsync(left);
        await _c.CommitAsync(right);
        var child = await Child(await Merge(root2, left, right));
        Assert.Equal("{\"voxels\": 512}", await _c.GetStringAsync($"/api/node/{child}/seg/size/5"));
        Assert.Equal("{\"voxels\": 100}", await _c.GetStringAsync($"/api/node/{child}/seg/size/7"));
        Assert.Equal("{\"voxels\": 512}", await _c.GetStringAsync($"/api/node/{child}/seg/size/3"));
        using (var max = await _c.GetJsonAsync($"/api/node/{child}/seg/maxlabel"))
            Assert.Equal(7UL, max.RootElement.GetProperty("maxlabel").GetUInt64());

        // Both sides relabel part of body 3: its index and the block changed on both, so the merge is refused.
        await _c.CommitAsync(child);
        var x = await Branch(child, "x");
        var y = await Branch(child, "y");
        await WriteLabels(x, 0, 9, count: 10, rest: 3);
        await WriteLabels(y, 0, 11, count: 20, rest: 3);
        await _c.CommitAsync(x);
        await _c.CommitAsync(y);
        var r = await Merge(root2, x, y);
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("block 0,0,0", text);
        Assert.Contains("label 3", text);
        // Resolved by priority, the block comes from the first parent and every body's index agrees with it.
        foreach (var (first, mine, mineCount, theirs) in new[] { (x, 9UL, 10, 11UL), (y, 11UL, 20, 9UL) })
        {
            var other = first == x ? y : x;
            var resolved = await Child(await _c.PostAsync($"/api/repo/{root2}/resolve", DvidClient.Json(new { data = new[] { "seg" }, parents = new[] { first, other }, note = "r" })));
            Assert.Equal($"{{\"voxels\": {mineCount}}}", await _c.GetStringAsync($"/api/node/{resolved}/seg/size/{mine}"));
            Assert.Equal($"{{\"voxels\": {512 - mineCount}}}", await _c.GetStringAsync($"/api/node/{resolved}/seg/size/3"));
            Assert.Equal(HttpStatusCode.NotFound, (await _c.GetAsync($"/api/node/{resolved}/seg/size/{theirs}")).StatusCode);
            Assert.Equal("{\"voxels\": 512}", await _c.GetStringAsync($"/api/node/{resolved}/seg/size/5")); // untouched bodies keep theirs
            var voxels = await (await _c.GetAsync($"/api/node/{resolved}/seg/raw/0_1_2/8_8_8/0_0_0")).Content.ReadAsByteArrayAsync();
            Assert.Equal(mineCount, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(voxels).ToArray().Count(v => v == mine));
            // Level 1 was rebuilt from the child's level 0: the same as a level 1 built by writing those voxels afresh.
            var fresh = await _c.CreateRepoAsync();
            await _c.CreateInstanceAsync(fresh, "labelmap", "seg", new { BlockSize = "8,8,8", MaxDownresLevel = "1" });
            var all = await (await _c.GetAsync($"/api/node/{resolved}/seg/raw/0_1_2/24_8_8/0_0_0?supervoxels=true")).Content.ReadAsByteArrayAsync();
            await (await _c.PostAsync($"/api/node/{fresh}/seg/raw/0_1_2/24_8_8/0_0_0", new ByteArrayContent(all))).ExpectAsync(200);
            Assert.Equal(await (await _c.GetAsync($"/api/node/{fresh}/seg/raw/0_1_2/16_8_8/0_0_0?scale=1")).Content.ReadAsByteArrayAsync(),
                await (await _c.GetAsync($"/api/node/{resolved}/seg/raw/0_1_2/16_8_8/0_0_0?scale=1")).Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Bad_merge_requests_get_a_clear_400_and_create_nothing()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var open = await _c.NewVersionAsync(root);
        var other = await Branch(root, "other");
        await _c.CommitAsync(other);
        async Task Bad(string path, object body, string expect)
        {
            var r = await _c.PostAsync($"/api/repo/{root}/{path}", DvidClient.Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(expect, await r.Content.ReadAsStringAsync());
        }
        await Bad("merge", new { mergeType = "conflict-free", parents = new[] { other } }, "at least two parent");
        await Bad("merge", new { mergeType = "ours", parents = new[] { other, root } }, "'mergeType' must be 'conflict-free'");
        await Bad("merge", new { mergeType = "conflict-free", parents = new[] { other, open } }, "is not committed");
        await Bad("merge", new { mergeType = "conflict-free", parents = new[] { other, root } }, "is an ancestor of parent");
        await Bad("merge", new { mergeType = "conflict-free", parents = new[] { other, "ffffffffffffffffffffffffffff0000" } }, "can't match parent");
        await Bad("merge", new { mergeType = "conflict-free", parents = new[] { other, other } }, "named twice");
        await Bad("resolve", new { data = new[] { "nosuch" }, parents = new[] { other, root } }, "invalid data instance name");
        await Bad("resolve", new { parents = new[] { other, root } }, "at least one data instance");
        var r = await _c.PostAsync($"/api/repo/{root}/merge", new StringContent("{\"parents\": "));
        Assert.Contains("Malformed JSON", await r.Content.ReadAsStringAsync());
        using var info = await _c.GetJsonAsync($"/api/repo/{root}/info");
        Assert.Equal(3, info.RootElement.GetProperty("DAG").GetProperty("Nodes").EnumerateObject().Count());
    }
}
