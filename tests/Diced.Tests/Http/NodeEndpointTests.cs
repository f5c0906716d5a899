using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class NodeEndpointTests(ServerFixture f) : NodeEndpointSpec(f.Client), IClassFixture<ServerFixture>;

/// <summary>The same behaviour with the server's store in S3 (Ceph radosgw).</summary>
[Collection(RadosGwCollection.Name)]
public class NodeEndpointTestsOnS3(RadosGwFixture rgw) : NodeEndpointSpec(rgw.Server.Client);

/// <summary>What every backend must do; run by <see cref="NodeEndpointTests"/> and <see cref="NodeEndpointTestsOnS3"/>.</summary>
public abstract class NodeEndpointSpec(HttpClient client)
{
    private readonly HttpClient _c = client;

    [Fact]
    public async Task Commit_locks_node_and_rejects_later_writes()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        Assert.Equal("{\"Locked\":false}", await _c.GetStringAsync($"/api/node/{uuid}/status"));
        var r = await _c.PostAsync($"/api/node/{uuid}/commit", DvidClient.Json(new { note = "done", log = new[] { "ingested" } }));
        Assert.Equal($"{{\"committed\": \"{uuid}\"}}", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        Assert.Equal("{\"Locked\":true}", await _c.GetStringAsync($"/api/node/{uuid}/commit"));
        await (await _c.PostAsync($"/api/node/{uuid}/kv/key/a", DvidClient.Text("x")))
            .ExpectErrorAsync(400, $"Cannot do POST on endpoint \"key\" of locked node {uuid}");
        await (await _c.DeleteAsync($"/api/node/{uuid}/kv/key/a")).ExpectErrorAsync(400, "locked node");
        Assert.Null(await _c.GetKeyAsync(uuid, "kv", "a"));
        await (await _c.PostAsync($"/api/node/{uuid}/commit", DvidClient.Json(new { note = "again" })))
            .ExpectErrorAsync(400, $"Cannot do post on locked node {uuid}");
        using var note = await _c.GetJsonAsync($"/api/node/{uuid}/note");
        Assert.Equal("done", note.RootElement.GetProperty("note").GetString());
        using var log = await _c.GetJsonAsync($"/api/node/{uuid}/log");
        Assert.EndsWith("  ingested", log.RootElement.GetProperty("log")[0].GetString());
    }

    [Fact]
    public async Task Commit_needs_a_json_body()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/node/{uuid}/commit", new ByteArrayContent([])))
            .ExpectErrorAsync(400, "Malformed JSON request in body: unexpected end of JSON input");
        Assert.Equal("{\"Locked\":false}", await _c.GetStringAsync($"/api/node/{uuid}/status"));
    }

    [Fact]
    public async Task Newversion_and_branch_need_a_locked_parent()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/node/{uuid}/newversion", new ByteArrayContent([]))).ExpectErrorAsync(400, "can't branch an unlocked node");
        await (await _c.PostAsync($"/api/node/{uuid}/branch", DvidClient.Json(new { branch = "b" }))).ExpectErrorAsync(400, "can't branch an unlocked node");
        using var doc = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Single(doc.RootElement.GetProperty("DAG").GetProperty("Nodes").EnumerateObject());
    }

    [Fact]
    public async Task Newversion_makes_one_child_per_branch_and_takes_an_assigned_uuid()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var chosen = Guid.NewGuid().ToString("N");
        var r = await _c.PostAsync($"/api/node/{root}/newversion", DvidClient.Json(new { note = "child", uuid = chosen }));
        Assert.Equal($"{{\"child\": \"{chosen}\"}}", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        await (await _c.PostAsync($"/api/node/{root}/newversion", new ByteArrayContent([]))).ExpectErrorAsync(400, "branch already exists with given name");
        await (await _c.PostAsync($"/api/node/{root}/newversion", DvidClient.Json(new { uuid = "xyz" }))).ExpectErrorAsync(400, "32 character hexadecimal");
        using var note = await _c.GetJsonAsync($"/api/node/{chosen}/note");
        Assert.Equal("child", note.RootElement.GetProperty("note").GetString());
    }

    [Fact]
    public async Task Named_branches_are_unique_and_master_is_reserved()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var b = await _c.BranchAsync(root, "proofread", "try");
        await (await _c.PostAsync($"/api/node/{root}/branch", DvidClient.Json(new { branch = "proofread" }))).ExpectErrorAsync(400, "branch already exists");
        await (await _c.PostAsync($"/api/node/{root}/branch", DvidClient.Json(new { branch = "master" }))).ExpectErrorAsync(400, "Cannot create a master branch");
        using var doc = await _c.GetJsonAsync($"/api/repo/{root}/info");
        Assert.Equal("proofread", doc.RootElement.GetProperty("DAG").GetProperty("Nodes").GetProperty(b).GetProperty("Branch").GetString());
    }

    [Fact]
    public async Task Diced_branch_with_only_a_note_creates_sibling_children()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var first = await _c.BranchAsync(root, null, "experiment 1");
        var second = await _c.BranchAsync(root, null, "experiment 2");
        Assert.NotEqual(first, second);
        using var doc = await _c.GetJsonAsync($"/api/repo/{root}/info");
        var nodes = doc.RootElement.GetProperty("DAG").GetProperty("Nodes");
        Assert.Equal(2, nodes.GetProperty(root).GetProperty("Children").GetArrayLength());
        Assert.Equal("", nodes.GetProperty(first).GetProperty("Branch").GetString());
        Assert.Equal("experiment 2", nodes.GetProperty(second).GetProperty("Note").GetString());
        Assert.False(nodes.GetProperty(second).GetProperty("Locked").GetBoolean());
    }

    [Fact]
    public async Task Tag_makes_a_locked_child_named_by_the_tag()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var tag = "v1-" + Guid.NewGuid().ToString("N")[..8];
        var r = await _c.PostAsync($"/api/node/{root}/tag", DvidClient.Json(new { tag }));
        Assert.Equal($"{{\"child\": \"{tag}\"}}", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        Assert.Equal("{\"Locked\":true}", await _c.GetStringAsync($"/api/node/{tag}/status"));
    }

    [Fact]
    public async Task Note_and_log_of_an_open_node()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/node/{uuid}/note", DvidClient.Json(new { note = "hello" }))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/log", DvidClient.Json(new { log = new[] { "a" } }))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/log", DvidClient.Json(new { nolog = 1 }))).ExpectErrorAsync(400, "'log'");
        using var note = await _c.GetJsonAsync($"/api/node/{uuid}/note");
        Assert.Equal("hello", note.RootElement.GetProperty("note").GetString());
        using var log = await _c.GetJsonAsync($"/api/node/{uuid}/log");
        Assert.Equal(1, log.RootElement.GetProperty("log").GetArrayLength());
    }

    [Fact]
    public async Task Version_references_resolve_prefixes_branches_and_ancestors()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var a = await _c.NewVersionAsync(root);
        await _c.CommitAsync(a);
        var b = await _c.NewVersionAsync(a);
        var side = await _c.BranchAsync(root, "side");
        async Task<string> Locked(string spec) => await _c.GetStringAsync($"/api/node/{spec}/status");
        Assert.Equal("{\"Locked\":false}", await Locked($"{root[..10]}:master"));
        Assert.Equal("{\"Locked\":true}", await Locked($"{root}:master~1"));
        Assert.Equal("{\"Locked\":true}", await Locked($"{b}:master~2"));
        Assert.Equal("{\"Locked\":false}", await Locked($"{root}:side"));
        Assert.Equal("{\"Locked\":true}", await Locked($"{side}:side~1"));
        await (await _c.GetAsync($"/api/node/{root}:nosuch/status")).ExpectErrorAsync(400, "branch \"nosuch\" not found");
        await (await _c.GetAsync($"/api/node/{root}:master~9/status")).ExpectErrorAsync(400);
        await (await _c.GetAsync($"/api/node/a:b:c/status")).ExpectErrorAsync(400, "bad UUID specification");
    }
}
