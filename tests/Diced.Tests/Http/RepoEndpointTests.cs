using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class RepoEndpointTests(ServerFixture f) : RepoEndpointSpec(f.Client), IClassFixture<ServerFixture>;

/// <summary>The same behaviour with the server's store in S3 (Ceph radosgw).</summary>
[Collection(RadosGwCollection.Name)]
public class RepoEndpointTestsOnS3(RadosGwFixture rgw) : RepoEndpointSpec(rgw.Server.Client);

/// <summary>What every backend must do; run by <see cref="RepoEndpointTests"/> and <see cref="RepoEndpointTestsOnS3"/>.</summary>
public abstract class RepoEndpointSpec(HttpClient client)
{
    private readonly HttpClient _c = client;

    [Fact]
    public async Task Repo_info_has_dvid_fields_in_order_with_integer_parents_and_children()
    {
        var root = await _c.CreateRepoAsync("shape", "desc");
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        using var doc = await _c.GetJsonAsync($"/api/repo/{child}/info");
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["Root", "Alias", "Description", "Log", "Properties", "DataInstances", "DAG", "MutationID", "SavedMutationID", "Created", "Updated"], names);
        var nodes = doc.RootElement.GetProperty("DAG").GetProperty("Nodes");
        var rootNode = nodes.GetProperty(root);
        var childNode = nodes.GetProperty(child);
        Assert.Equal(["Branch", "Note", "Log", "UUID", "VersionID", "Locked", "Parents", "Children", "Created", "Updated"],
            rootNode.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.True(rootNode.GetProperty("Locked").GetBoolean());
        Assert.False(childNode.GetProperty("Locked").GetBoolean());
        Assert.Equal(childNode.GetProperty("VersionID").GetInt32(), rootNode.GetProperty("Children")[0].GetInt32());
        Assert.Equal(rootNode.GetProperty("VersionID").GetInt32(), childNode.GetProperty("Parents")[0].GetInt32());
        Assert.Equal("", childNode.GetProperty("Branch").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", rootNode.GetProperty("Created").GetString());
    }

    [Fact]
    public async Task Repo_info_post_changes_alias_and_description()
    {
        var uuid = await _c.CreateRepoAsync("old", "old desc");
        await (await _c.PostAsync($"/api/repo/{uuid}/info", DvidClient.Json(new { alias = "new" }))).ExpectAsync(200);
        using var doc = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Equal("new", doc.RootElement.GetProperty("Alias").GetString());
        Assert.Equal("old desc", doc.RootElement.GetProperty("Description").GetString());
    }

    [Fact]
    public async Task Instance_creation_takes_case_insensitive_string_settings_and_logs_it()
    {
        var uuid = await _c.CreateRepoAsync();
        var r = await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { TypeName = "keyvalue", DataName = "kv", Versioned = "false", Tags = "a=1,b=2,bad" }));
        var body = await (await r.ExpectAsync(200)).Content.ReadAsStringAsync();
        Assert.Equal($"{{\"result\": \"Added kv [keyvalue] to node {uuid}\"}}", body);
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/kv/info");
        var b = info.RootElement.GetProperty("Base");
        Assert.False(b.GetProperty("Versioned").GetBoolean());
        Assert.Equal("LZ4 compression, level -1", b.GetProperty("Compression").GetString());
        Assert.Equal("1", b.GetProperty("Tags").GetProperty("a").GetString());
        Assert.False(b.GetProperty("Tags").TryGetProperty("bad", out _));
        Assert.Equal(uuid, b.GetProperty("RepoUUID").GetString());
        Assert.Matches("^[0-9a-f]{32}$", b.GetProperty("DataUUID").GetString());
        using var log = await _c.GetJsonAsync($"/api/repo/{uuid}/log");
        Assert.Contains(log.RootElement.GetProperty("log").EnumerateArray(), l => l.GetString()!.Contains("New data instance \"kv\" of type \"keyvalue\""));
    }

    [Fact]
    public async Task Versioned_accepts_a_json_boolean()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "keyvalue", dataname = "kv", versioned = false }))).ExpectAsync(200);
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/kv/info");
        Assert.False(info.RootElement.GetProperty("Base").GetProperty("Versioned").GetBoolean());
    }

    [Fact]
    public async Task Repo_log_appends_timestamped_lines()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/repo/{uuid}/log", DvidClient.Json(new { log = new[] { "first", "second" } }))).ExpectAsync(200);
        using var doc = await _c.GetJsonAsync($"/api/repo/{uuid}/log");
        var lines = doc.RootElement.GetProperty("log").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)  first$", lines[0]);
    }

    [Fact]
    public async Task Head_repo_is_200_for_known_and_400_for_unknown()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.SendAsync(HttpMethod.Head, $"/api/repo/{uuid[..8]}")).ExpectAsync(200);
        await (await _c.SendAsync(HttpMethod.Head, "/api/repo/ffffffffffffffffffffffffffffff00")).ExpectAsync(400);
        await (await _c.GetAsync($"/api/repo/{uuid}")).ExpectAsync(404); // only HEAD is registered
    }

    [Fact]
    public async Task Branch_versions_runs_from_leaf_to_root()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var a = await _c.NewVersionAsync(root);
        await _c.CommitAsync(a);
        var b = await _c.NewVersionAsync(a);
        var side = await _c.BranchAsync(a, "side");
        using var master = await _c.GetJsonAsync($"/api/repo/{root}/branch-versions/master");
        Assert.Equal([b, a, root], master.RootElement.EnumerateArray().Select(e => e.GetString()!).ToArray());
        using var sideDoc = await _c.GetJsonAsync($"/api/repo/{root}/branch-versions/side");
        Assert.Equal([side, a, root], sideDoc.RootElement.EnumerateArray().Select(e => e.GetString()!).ToArray());
        using var none = await _c.GetJsonAsync($"/api/repo/{root}/branch-versions/nosuch");
        Assert.Equal(0, none.RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Deleting_an_instance_frees_its_name_and_its_data()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "gone");
        await _c.PutKeyAsync(uuid, "gone", "k", [1, 2, 3]);
        await (await _c.DeleteAsync($"/api/repo/{uuid}/gone")).ExpectErrorAsync(400, "imsure=true");
        Assert.NotNull(await _c.GetKeyAsync(uuid, "gone", "k"));
        var r = await _c.DeleteAsync($"/api/repo/{uuid}/gone?imsure=true");
        Assert.Contains("Started deletion of data instance \\\"gone\\\"", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        await (await _c.GetAsync($"/api/node/{uuid}/gone/key/k")).ExpectErrorAsync(400, "invalid data instance name");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "gone");
        Assert.Null(await _c.GetKeyAsync(uuid, "gone", "k"));
    }

    [Fact]
    public async Task Deleting_a_repo_removes_it_from_every_listing()
    {
        var uuid = await _c.CreateRepoAsync("doomed");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await (await _c.DeleteAsync($"/api/repo/{uuid}")).ExpectErrorAsync(400, "imsure=true");
        var r = await _c.DeleteAsync($"/api/repo/{uuid}?imsure=true");
        Assert.Equal($"{{\"result\": \"Started deletion of repo containing UUID {uuid}\"}}", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        await (await _c.GetAsync($"/api/repo/{uuid}/info")).ExpectErrorAsync(400, "could not find UUID");
        using var all = await _c.GetJsonAsync("/api/repos/info");
        Assert.False(all.RootElement.TryGetProperty(uuid, out _));
    }
}
