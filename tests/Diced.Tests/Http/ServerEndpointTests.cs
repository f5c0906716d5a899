using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class ServerEndpointTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    [Fact]
    public async Task Server_info_values_are_all_strings()
    {
        using var doc = await _c.GetJsonAsync("/api/server/info?u=&app=");
        foreach (var key in new[] { "Cores", "Maximum Cores", "Datastore Version", "DVID Version", "Storage backend", "Server time", "Server uptime", "Host", "Note" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), $"missing {key}");
        foreach (var p in doc.RootElement.EnumerateObject())
            Assert.Equal(JsonValueKind.String, p.Value.ValueKind);
        Assert.Contains("rocksdb", doc.RootElement.GetProperty("Storage backend").GetString());
    }

    [Fact]
    public async Task Create_repo_answers_exactly_root_with_a_space_and_duplicate_aliases_are_allowed()
    {
        var r1 = await _c.PostAsync("/api/repos", DvidClient.Json(new { alias = "same", description = "one" }));
        var body1 = await (await r1.ExpectAsync(200)).Content.ReadAsStringAsync();
        Assert.Matches("^\\{\"root\": \"[0-9a-f]{32}\"\\}$", body1);
        Assert.Equal("application/json", r1.Content.Headers.ContentType!.MediaType);
        var r2 = await _c.PostAsync("/api/repos", DvidClient.Json(new { alias = "same", description = "two" }));
        var body2 = await (await r2.ExpectAsync(200)).Content.ReadAsStringAsync();
        Assert.NotEqual(body1, body2);
    }

    [Fact]
    public async Task Create_repo_with_empty_body_and_with_chosen_root()
    {
        await (await _c.PostAsync("/api/repos", new ByteArrayContent([]))).ExpectAsync(200);
        var root = Guid.NewGuid().ToString("N");
        var r = await _c.PostAsync("/api/repos", DvidClient.Json(new { alias = "chosen", root }));
        Assert.Equal($"{{\"root\": \"{root}\"}}", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        var dup = await _c.PostAsync("/api/repos", DvidClient.Json(new { alias = "again", root }));
        await dup.ExpectErrorAsync(400, "UUID already exists in datastore");
    }

    [Fact]
    public async Task Repos_info_is_keyed_by_root_with_the_fields_neuroglancer_reads()
    {
        var uuid = await _c.CreateRepoAsync("catalogue", "for neuroglancer");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "meshes");
        using var doc = await _c.GetJsonAsync("/api/repos/info");
        var repo = doc.RootElement.GetProperty(uuid);
        Assert.Equal("catalogue", repo.GetProperty("Alias").GetString());
        Assert.Equal("for neuroglancer", repo.GetProperty("Description").GetString());
        Assert.Equal(uuid, repo.GetProperty("Root").GetString());
        Assert.Equal(JsonValueKind.Object, repo.GetProperty("DAG").GetProperty("Nodes").GetProperty(uuid).ValueKind);
        Assert.Equal("keyvalue", repo.GetProperty("DataInstances").GetProperty("meshes").GetProperty("Base").GetProperty("TypeName").GetString());
    }

    [Fact]
    public async Task Types_lists_used_types_and_compiled_types_lists_every_type()
    {
        using var compiled = await _c.GetJsonAsync("/api/server/compiled-types");
        Assert.Equal("github.com/janelia-flyem/dvid/datatype/keyvalue", compiled.RootElement.GetProperty("keyvalue").GetString());
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        using var used = await _c.GetJsonAsync("/api/server/types");
        Assert.True(used.RootElement.TryGetProperty("keyvalue", out _));
    }

    [Fact]
    public async Task Heartbeat_help_and_type_help()
    {
        var hb = await _c.GetAsync("/api/heartbeat?u=alice");
        Assert.Equal("OK", await (await hb.ExpectAsync(200)).Content.ReadAsStringAsync());
        var help = await (await _c.GetAsync("/api/help")).ExpectAsync(200);
        Assert.Equal("text/html", help.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/api/help/keyvalue", await help.Content.ReadAsStringAsync());
        var typeHelp = await (await _c.GetAsync("/api/help/keyvalue")).ExpectAsync(200);
        Assert.Equal("text/plain", typeHelp.Content.Headers.ContentType!.MediaType);
        Assert.Contains("keyrangevalues", await typeHelp.Content.ReadAsStringAsync());
        await (await _c.GetAsync("/api/help/nosuchtype")).ExpectErrorAsync(400, "Data type \"nosuchtype\" is not supported");
    }

    [Fact]
    public async Task OpenApi_document_and_swagger_ui_are_served()
    {
        using var doc = await _c.GetJsonAsync("/openapi/v1.json");
        Assert.True(doc.RootElement.GetProperty("paths").TryGetProperty("/api/repos", out _));
        await (await _c.GetAsync("/swagger/index.html")).ExpectAsync(200);
    }

    [Fact]
    public async Task Cors_allows_any_origin_by_default()
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "/api/server/info");
        req.Headers.Add("Origin", "http://viewer.example");
        var r = await _c.SendAsync(req);
        Assert.Equal("*", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}
