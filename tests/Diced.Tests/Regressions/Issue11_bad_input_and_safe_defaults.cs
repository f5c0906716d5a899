using System.Net;
using System.Text;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Regressions;

/// <summary>Issue 11, defects 4 to 7: malformed chunked bodies, odd instance names, colliding keys, foreign web origins.</summary>
public class Issue11_bad_input_and_safe_defaults(LiveServerFixture f) : IClassFixture<LiveServerFixture>
{
    private readonly HttpClient _c = f.Server.Client;

    private async Task<string> RepoAsync()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await _c.CreateInstanceAsync(uuid, "uint8blk", "grey");
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        return uuid;
    }

    private Task<RawHttp> Raw(string requestLineAndHeaders, string body = "")
        => RawHttp.SendBytesAsync(f.Server.Port, Encoding.ASCII.GetBytes(requestLineAndHeaders.Replace("\n", "\r\n") + "\r\n" + body));

    [Theory]
    [InlineData("fffffffffffffffff")] // overflows a 64-bit size
    [InlineData("ffffffffffffffff")]
    [InlineData("zz")]
    public async Task Malformed_chunk_sizes_get_400_and_store_nothing(string chunkSize)
    {
        var uuid = await RepoAsync();
        foreach (var path in new[] { $"/api/node/{uuid}/kv/key/k", $"/api/node/{uuid}/grey/raw/0_1_2/4_4_4/0_0_0", $"/api/node/{uuid}/seg/blocks" })
        {
            using var r = await Raw($"POST {path} HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nConnection: close\n", $"{chunkSize}\r\nabc\r\n0\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 400", r.StatusLine);
        }
        Assert.Null(await _c.GetKeyAsync(uuid, "kv", "k"));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a b")]
    [InlineData(" lead")]
    [InlineData("per%cent")]
    [InlineData("q?uery")]
    [InlineData("hash#")]
    [InlineData("back\\slash")]
    [InlineData("tab\there")]
    [InlineData("new\nline")]
    [InlineData("nul\u0000")]
    [InlineData("del\u007f")]
    [InlineData("nbsp\u00a0")]
    [InlineData("log")]
    public async Task Names_that_cannot_be_addressed_are_refused(string name)
    {
        var uuid = await _c.CreateRepoAsync();
        var r = await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "keyvalue", dataname = name }));
        await r.ExpectErrorAsync(400, "Data name");
        using var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Empty(info.RootElement.GetProperty("DataInstances").EnumerateObject());
        // Names people use still work.
        await _c.CreateInstanceAsync(uuid, "keyvalue", ".files");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "seg:sizes-v2_é");
    }

    [Theory]
    [InlineData("DELETE /api/repo/{0}/?imsure=true")]
    [InlineData("DELETE /api/repo/{0}/.?imsure=true")]
    [InlineData("DELETE /api/repo/{0}/%2e?imsure=true")]
    [InlineData("DELETE /api/repo/{0}/kv/..?imsure=true")]
    [InlineData("DELETE /api/repo/{0}/..?imsure=true")]
    public async Task An_instance_delete_never_reaches_the_repo(string request)
    {
        var uuid = await RepoAsync();
        using var r = await Raw(string.Format(request, uuid) + " HTTP/1.1\nHost: x\nConnection: close\n");
        Assert.StartsWith("HTTP/1.1 4", r.StatusLine);
        (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/repo/{uuid}"))).EnsureSuccessStatusCode();
        using var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Equal(3, DvidClient.StoredInstanceCount(info.RootElement));
    }

    [Theory]
    [InlineData("al%ff", "al%25ff")]
    [InlineData("a%2Fb", "a%252Fb")]
    [InlineData("x%c3%28", "x%25c3%2528")]
    public async Task Distinct_keys_never_collide(string first, string second)
    {
        var uuid = await RepoAsync();
        async Task<(int Status, string Body)> Send(string method, string key, string body = "")
        {
            using var r = await Raw($"{method} /api/node/{uuid}/kv/key/{key} HTTP/1.1\nHost: x\nContent-Length: {body.Length}\nConnection: close\n", body);
            return (int.Parse(r.StatusLine.Split(' ')[1]), r.Body);
        }
        var a = await Send("POST", first, "first");
        var b = await Send("POST", second, "second");
        Assert.Equal(200, b.Status);
        if (a.Status == 200)
        {
            // Both were stored: they are two keys.
            var keys = JsonSerializer.Deserialize<string[]>(await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"))!;
            Assert.Equal(2, keys.Length);
            Assert.Equal("first", (await Send("GET", first)).Body.Split("\r\n").Last(l => l.Length > 0 && l != "0"));
        }
        else Assert.Equal(400, a.Status); // a key that is not UTF-8 text is refused, not folded into another
        Assert.Contains("second", (await Send("GET", second)).Body);
    }

    [Fact]
    public async Task Keys_with_an_encoded_slash_round_trip()
    {
        var uuid = await RepoAsync();
        await (await _c.PostAsync($"/api/node/{uuid}/kv/key/dir%2Ffile", new ByteArrayContent([1]))).ExpectAsync(200);
        Assert.Equal(["dir/file"], JsonSerializer.Deserialize<string[]>(await _c.GetStringAsync($"/api/node/{uuid}/kv/keys")));
        Assert.Equal(new byte[] { 1 }, await _c.GetKeyAsync(uuid, "kv", "dir/file"));
    }

    [Fact]
    public async Task Other_web_origins_may_read_but_not_write()
    {
        var uuid = await RepoAsync();
        // The preflight of a deletion from a foreign page is not granted.
        var pre = new HttpRequestMessage(HttpMethod.Options, $"/api/repo/{uuid}?imsure=true");
        pre.Headers.Add("Origin", "http://evil.example");
        pre.Headers.Add("Access-Control-Request-Method", "DELETE");
        var preflight = await _c.SendAsync(pre);
        Assert.False(preflight.Headers.TryGetValues("Access-Control-Allow-Methods", out var methods) && methods.Any(m => m.Contains("DELETE")));
        // A form post or deletion that needs no preflight is refused before it runs.
        foreach (var (method, path) in new[] { ("DELETE", $"/api/repo/{uuid}?imsure=true"), ("POST", $"/api/node/{uuid}/kv/key/evil"), ("POST", $"/api/repo/{uuid}/instance") })
        {
            var req = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{\"typename\":\"keyvalue\",\"dataname\":\"evil\"}") };
            req.Headers.Add("Origin", "http://evil.example");
            await (await _c.SendAsync(req)).ExpectErrorAsync(403, "origin");
        }
        Assert.Null(await _c.GetKeyAsync(uuid, "kv", "evil"));
        using (var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info"))
            Assert.Equal(3, DvidClient.StoredInstanceCount(info.RootElement));
        // Reads from any origin are allowed (Neuroglancer), and the server's own pages may write.
        var get = new HttpRequestMessage(HttpMethod.Get, $"/api/repo/{uuid}/info");
        get.Headers.Add("Origin", "http://neuroglancer.example");
        var read = await _c.SendAsync(get);
        await read.ExpectAsync(200);
        Assert.Equal("*", read.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var own = new HttpRequestMessage(HttpMethod.Post, $"/api/node/{uuid}/kv/key/mine") { Content = new ByteArrayContent([1]) };
        own.Headers.Add("Origin", f.Server.BaseAddress.GetLeftPart(UriPartial.Authority));
        await (await _c.SendAsync(own)).ExpectAsync(200);
        // A foreign page rebound to this server's address (DNS rebinding) names itself in Host and Origin alike: refused.
        var rebound = new HttpRequestMessage(HttpMethod.Post, $"/api/node/{uuid}/kv/key/rebound") { Content = new ByteArrayContent([1]) };
        rebound.Headers.Host = $"evil.example:{f.Server.Port}";
        rebound.Headers.Add("Origin", $"http://evil.example:{f.Server.Port}");
        await (await _c.SendAsync(rebound)).ExpectErrorAsync(403, "origin");
    }

    [Fact]
    public async Task Configured_write_origins_and_the_admin_token_for_deletions()
    {
        await using var server = await LiveServer.StartAsync(null, "--Diced:CorsWriteOrigins:0", "https://clio.example", "--Diced:AdminToken", "s3cret");
        var c = server.Client;
        var uuid = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        var pre = new HttpRequestMessage(HttpMethod.Options, $"/api/node/{uuid}/kv/key/a");
        pre.Headers.Add("Origin", "https://clio.example");
        pre.Headers.Add("Access-Control-Request-Method", "POST");
        Assert.Contains("POST", (await c.SendAsync(pre)).Headers.GetValues("Access-Control-Allow-Methods").Single());
        var post = new HttpRequestMessage(HttpMethod.Post, $"/api/node/{uuid}/kv/key/a") { Content = new ByteArrayContent([1]) };
        post.Headers.Add("Origin", "https://clio.example");
        await (await c.SendAsync(post)).ExpectAsync(200);
        // With an admin token set, deleting needs it.
        await (await c.DeleteAsync($"/api/repo/{uuid}/kv?imsure=true")).ExpectErrorAsync(403, "admin token");
        await (await c.DeleteAsync($"/api/repo/{uuid}?imsure=true")).ExpectErrorAsync(403, "admin token");
        await (await c.DeleteAsync($"/api/repo/{uuid}/kv?imsure=true&admintoken=wrong")).ExpectErrorAsync(403);
        await (await c.DeleteAsync($"/api/repo/{uuid}/kv?imsure=true&admintoken=s3cret")).ExpectAsync(200);
        await (await c.DeleteAsync($"/api/repo/{uuid}?imsure=true&admintoken=s3cret")).ExpectAsync(200);
    }
}
