using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Bad input gets a clear 4xx in DVID's error shape, stores nothing, and the server keeps serving.</summary>
public class BadInputTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    private async Task StillServing() => await (await _c.GetAsync("/api/server/info")).ExpectAsync(200);

    [Theory]
    [InlineData("zzzz")]
    [InlineData("0123456789abcdef0123456789abcdeg")]
    [InlineData("a:b:c")]
    [InlineData(":master")] // ambiguous: the shared test server holds several repos
    public async Task Malformed_or_unknown_uuids_are_400(string spec)
    {
        foreach (var url in new[] { $"/api/repo/{spec}/info", $"/api/node/{spec}/status", $"/api/node/{spec}/kv/keys" })
            await (await _c.GetAsync(url)).ExpectErrorAsync(400);
        await (await _c.PostAsync($"/api/node/{spec}/commit", DvidClient.Json(new { note = "x" }))).ExpectErrorAsync(400);
        await StillServing();
    }

    [Fact]
    public async Task Ambiguous_prefix_is_400_and_names_the_prefix()
    {
        // Make two repos whose root UUIDs share a prefix.
        var p = Guid.NewGuid().ToString("N")[..20];
        await (await _c.PostAsync("/api/repos", DvidClient.Json(new { root = p + "000000000000" }))).ExpectAsync(200);
        await (await _c.PostAsync("/api/repos", DvidClient.Json(new { root = p + "000000000001" }))).ExpectAsync(200);
        await (await _c.GetAsync($"/api/node/{p}/status")).ExpectErrorAsync(400, $"more than one UUID matches {p}");
        Assert.Equal("{\"Locked\":false}", await _c.GetStringAsync($"/api/node/{p}000000000001/status"));
    }

    [Fact]
    public async Task Unknown_instance_and_type_names_are_400()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.GetAsync($"/api/node/{uuid}/nosuch/info")).ExpectErrorAsync(400, "invalid data instance name");
        await (await _c.GetAsync($"/api/node/{uuid}/nosuch/key/k")).ExpectErrorAsync(400, "invalid data instance name");
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "grayscale8", dataname = "g" })))
            .ExpectErrorAsync(400, "Data type \"grayscale8\" is not supported");
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { dataname = "g" })))
            .ExpectErrorAsync(400, "requires specification of valid 'typename'");
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "keyvalue" })))
            .ExpectErrorAsync(400, "'dataname'");
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "keyvalue", dataname = "commit" })))
            .ExpectErrorAsync(400, "reserved");
        await (await _c.GetAsync($"/api/node/{uuid}/info/keys")).ExpectErrorAsync(400);
        await AssertNoInstances(uuid);
    }

    private async Task AssertNoInstances(string uuid)
    {
        using var doc = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Empty(doc.RootElement.GetProperty("DataInstances").EnumerateObject());
    }

    [Theory]
    [InlineData("{\"typename\": \"keyvalue\", \"dataname\": ")]
    [InlineData("not json at all")]
    [InlineData("[\"typename\", \"keyvalue\"]")]
    [InlineData("{\"typename\": \"keyvalue\", \"dataname\": \"kv\", \"versioned\": 1}")]
    [InlineData("{\"typename\": \"keyvalue\", \"dataname\": \"kv\", \"BlockSize\": [64,64,64]}")]
    [InlineData("{\"typename\": \"keyvalue\", \"dataname\": \"kv\", \"Compression\": \"snappy-ish\"}")]
    [InlineData("{\"typename\": \"keyvalue\", \"dataname\": \"kv\", \"versioned\": \"maybe\"}")]
    [InlineData("{\"typename\": \"keyvalue\", \"dataname\": \"kv\", \"Checksum\": \"md5\"}")]
    public async Task Invalid_instance_configs_are_400_and_create_nothing(string body)
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Text(body))).ExpectErrorAsync(400);
        await AssertNoInstances(uuid);
        await StillServing();
    }

    [Fact]
    public async Task Non_string_settings_name_the_setting()
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Text("{\"typename\":\"keyvalue\",\"dataname\":\"kv\",\"BlockSize\":64}")))
            .ExpectErrorAsync(400, "Setting for 'BlockSize' was not a string: 64");
    }

    [Fact]
    public async Task Duplicate_instance_names_are_400_and_keep_the_first()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await _c.PutKeyAsync(uuid, "kv", "k", [1]);
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "keyvalue", dataname = "kv" })))
            .ExpectErrorAsync(400, "Data named \"kv\" already exists");
        Assert.Equal([1], await _c.GetKeyAsync(uuid, "kv", "k"));
    }

    [Fact]
    public async Task Instances_cannot_be_created_on_locked_nodes()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CommitAsync(uuid);
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "keyvalue", dataname = "kv" })))
            .ExpectErrorAsync(400, "cannot be created on locked node");
        await AssertNoInstances(uuid);
    }

    [Fact]
    public async Task Locked_nodes_refuse_note_log_and_every_keyvalue_mutation()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await _c.PutKeyAsync(uuid, "kv", "k", [1]);
        await _c.CommitAsync(uuid);
        await (await _c.PostAsync($"/api/node/{uuid}/note", DvidClient.Json(new { note = "x" }))).ExpectErrorAsync(400, "locked node");
        await (await _c.PostAsync($"/api/node/{uuid}/log", DvidClient.Json(new { log = new[] { "x" } }))).ExpectErrorAsync(400, "locked node");
        await (await _c.PostAsync($"/api/node/{uuid}/kv/key/k", DvidClient.Text("changed"))).ExpectErrorAsync(400, "locked node");
        await (await _c.DeleteAsync($"/api/node/{uuid}/kv/key/k")).ExpectErrorAsync(400, "locked node");
        var kvs = Diced.Server.Wire.KeyValueMessages.EncodeKeyValues([("k", [9]), ("other", [9])]);
        await (await _c.PostAsync($"/api/node/{uuid}/kv/keyvalues", new ByteArrayContent(kvs))).ExpectErrorAsync(400, "locked node");
        await (await _c.PostAsync($"/api/node/{uuid}/kv/tags", DvidClient.Json(new { a = "b" }))).ExpectErrorAsync(400, "locked node");
        Assert.Equal([1], await _c.GetKeyAsync(uuid, "kv", "k"));
        Assert.Equal("[\"k\"]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"));
        using var note = await _c.GetJsonAsync($"/api/node/{uuid}/note");
        Assert.Equal("commit", note.RootElement.GetProperty("note").GetString());
    }
}
