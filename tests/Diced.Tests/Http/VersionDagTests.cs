using System.Net;
using System.Text.Json;
using Diced.Datastore.Versioning;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Issue 19: diffs between versions and deleting leaf versions with everything only they wrote.</summary>
public class VersionDagTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;
    private Diced.Datastore.Datastore Store => (Diced.Datastore.Datastore)f.Factory.Services.GetService(typeof(Diced.Datastore.Datastore))!;

    private async Task<List<(string Key, string Change)>> Diff(string from, string name, string to)
    {
        using var doc = await _c.GetJsonAsync($"/api/node/{from}/{name}/diff/{to}");
        Assert.Equal(name, doc.RootElement.GetProperty("instance").GetString());
        return doc.RootElement.GetProperty("changes").EnumerateArray().Select(c => (c.GetProperty("key").GetString()!, c.GetProperty("change").GetString()!)).ToList();
    }

    [Fact]
    public async Task A_diff_lists_keys_and_blocks_that_read_differently_in_key_order()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(root, "keyvalue", "kv");
        await _c.CreateInstanceAsync(root, "uint8blk", "grey", new { BlockSize = "8,8,8" });
        foreach (var k in new[] { "keep", "change", "drop", "same" }) await _c.PutKeyAsync(root, "kv", k, "v"u8.ToArray());
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        await _c.PutKeyAsync(child, "kv", "change", "w"u8.ToArray());
        await _c.PutKeyAsync(child, "kv", "same", "v"u8.ToArray()); // written again, same value: no difference
        await _c.PutKeyAsync(child, "kv", "new", "n"u8.ToArray());
        await (await _c.DeleteAsync($"/api/node/{child}/kv/key/drop")).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{child}/grey/raw/0_1_2/8_8_16/8_0_0", new ByteArrayContent(new byte[1024]))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{child}/grey/raw/0_1_2/8_8_8/8_0_0", new ByteArrayContent(Enumerable.Repeat((byte)1, 512).ToArray()))).ExpectAsync(200);

        Assert.Equal([("change", "modified"), ("drop", "removed"), ("new", "added")], await Diff(root, "kv", child));
        Assert.Equal([("change", "modified"), ("drop", "added"), ("new", "removed")], await Diff(child, "kv", root));
        Assert.Empty(await Diff(child, "kv", child));
        // Blocks by coordinate; an all-zero block written where nothing was is still a stored block.
        Assert.Equal([("block 1,0,0", "added"), ("block 1,0,1", "added"), ("extents", "added")], await Diff(root, "grey", child));
        var r = await _c.GetAsync($"/api/node/{root}/nosuch/diff/{child}");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        r = await _c.GetAsync($"/api/node/{root}/kv/diff/ffffffffffffffffffffffffffff0000");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }

    [Fact]
    public async Task Deleting_a_leaf_removes_it_and_all_it_wrote_and_nothing_else_changes()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(root, "keyvalue", "kv");
        await _c.CreateInstanceAsync(root, "uint8blk", "grey", new { BlockSize = "8,8,8" });
        await _c.PutKeyAsync(root, "kv", "a", "root"u8.ToArray());
        await _c.CommitAsync(root);
        var keep = await _c.NewVersionAsync(root);
        await _c.PutKeyAsync(keep, "kv", "a", "keep"u8.ToArray());
        var scratch = await _c.BranchAsync(root, "scratch");
        await _c.PutKeyAsync(scratch, "kv", "a", "scratch"u8.ToArray());
        await _c.PutKeyAsync(scratch, "kv", "b", "scratch"u8.ToArray());
        await (await _c.DeleteAsync($"/api/node/{scratch}/kv/key/a")).ExpectAsync(200); // a tombstone over root's value
        await (await _c.PostAsync($"/api/node/{scratch}/grey/raw/0_1_2/16_16_16/0_0_0", new ByteArrayContent(new byte[4096]))).ExpectAsync(200);
        uint version = Store.Resolve(scratch).Node.VersionId;

        async Task Bad(string uuid, string query, string expect)
        {
            var r = await _c.DeleteAsync($"/api/node/{uuid}{query}");
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(expect, await r.Content.ReadAsStringAsync());
        }
        await Bad(scratch, "", "imsure=true");
        await Bad(root, "?imsure=true", "is the root");
        await Bad(root, "/?imsure=true", "must name it exactly");

        var ok = await (await _c.DeleteAsync($"/api/node/{scratch}?imsure=true")).ExpectAsync(200);
        Assert.Contains("keys only it wrote", await ok.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await _c.GetAsync($"/api/node/{scratch}/kv/key/b")).StatusCode);
        Assert.Equal("root", await _c.GetStringAsync($"/api/node/{root}/kv/key/a"));
        Assert.Equal("keep", await _c.GetStringAsync($"/api/node/{keep}/kv/key/a"));
        using var info = await _c.GetJsonAsync($"/api/repo/{root}/info");
        var nodes = info.RootElement.GetProperty("DAG").GetProperty("Nodes");
        Assert.False(nodes.TryGetProperty(scratch, out _));
        Assert.Single(nodes.GetProperty(root).GetProperty("Children").EnumerateArray());
        Assert.Empty(await _c.GetJsonAsync($"/api/repo/{root}/branch-versions/scratch") is var bv ? bv.RootElement.EnumerateArray().ToList() : null!);
        // Nothing of it is left in the store: no value, tombstone or change record of its version.
        await foreach (var kv in Store.Stores.Main.ScanAsync(new byte[] { DataKeys.DataPrefix }, new byte[] { DataKeys.ChangePrefix + 1 }, keysOnly: true))
        {
            bool ofIt = kv.Key[0] == DataKeys.DataPrefix ? DataKeys.VersionOf(kv.Key) == version : DataKeys.VersionOfChange(kv.Key) == version;
            Assert.False(ofIt, $"key {Convert.ToHexString(kv.Key)} of the deleted version is still stored");
        }
        // A version with a child is not a leaf.
        await _c.CommitAsync(keep);
        await _c.NewVersionAsync(keep);
        await Bad(keep, "?imsure=true", "child version");
    }

    [Fact]
    public async Task An_archived_branch_is_read_only_even_with_fullwrite_yet_readable_and_branchable()
    {
        await using var server = await LiveServer.StartAsync(null, "--Diced:FullWrite", "true");
        var c = server.Client;
        var root = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(root, "keyvalue", "kv");
        await c.PutKeyAsync(root, "kv", "k", "root"u8.ToArray());
        await c.CommitAsync(root);
        var old = await c.BranchAsync(root, "old");
        await c.PutKeyAsync(old, "kv", "k", "old"u8.ToArray()); // open when archived: committed by the archive
        var bad = await c.PostAsync($"/api/repo/{root}/archive/nosuch", new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var archived = JsonDocument.Parse(await (await (await c.PostAsync($"/api/repo/{root}/archive/old", new ByteArrayContent([]))).ExpectAsync(200)).Content.ReadAsStringAsync()))
            Assert.Equal([old], archived.RootElement.GetProperty("archived").EnumerateArray().Select(e => e.GetString()));
        using (var info = await c.GetJsonAsync($"/api/repo/{root}/info"))
        {
            var node = info.RootElement.GetProperty("DAG").GetProperty("Nodes").GetProperty(old);
            Assert.True(node.GetProperty("Locked").GetBoolean());
            Assert.True(node.GetProperty("Archived").GetBoolean());
            Assert.False(info.RootElement.GetProperty("DAG").GetProperty("Nodes").GetProperty(root).TryGetProperty("Archived", out _));
        }
        // -fullwrite writes to the locked root, never to the archived version.
        await c.PutKeyAsync(root, "kv", "k2", "fullwrite"u8.ToArray());
        var write = await c.PostAsync($"/api/node/{old}/kv/key/k", new ByteArrayContent("again"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, write.StatusCode);
        Assert.Equal("old", await c.GetStringAsync($"/api/node/{old}/kv/key/k"));
        var delete = await c.DeleteAsync($"/api/node/{old}?imsure=true");
        Assert.Contains("archived", await delete.Content.ReadAsStringAsync());
        // Still a base for new work.
        var child = await c.NewVersionAsync(old);
        Assert.Equal("old", await c.GetStringAsync($"/api/node/{child}/kv/key/k"));
    }
}
