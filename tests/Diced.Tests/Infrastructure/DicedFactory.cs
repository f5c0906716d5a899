using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Diced.Tests.Infrastructure;

/// <summary>The real server over the in-memory test transport, with a fresh RocksDB store in a temp directory.</summary>
public sealed class DicedFactory : WebApplicationFactory<Program>
{
    private HttpClient? _client;

    /// <summary>One client for the factory's server, made on first use.</summary>
    public HttpClient Client => _client ??= CreateClient();

    public string DataDir { get; } = TempDir.Create("diced-http");

    /// <summary>Extra settings applied before the host starts.</summary>
    public Dictionary<string, string?> Settings { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Diced:Data", DataDir);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        foreach (var (k, v) in Settings) builder.UseSetting(k, v);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        TempDir.Delete(DataDir);
    }
}

/// <summary>Temp directories for stores, removed by the tests that make them.</summary>
public static class TempDir
{
    public static string Create(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Delete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Terse DVID calls for tests: every helper asserts the status it expects.</summary>
public static class DvidClient
{
    public static async Task<string> CreateRepoAsync(this HttpClient c, string alias = "test", string description = "")
    {
        var r = await c.PostAsync("/api/repos", Json(new { alias, description }));
        await r.ExpectAsync(200);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("root").GetString()!;
    }

    public static async Task CreateInstanceAsync(this HttpClient c, string uuid, string type, string name, object? extra = null)
    {
        var config = new Dictionary<string, object?> { ["typename"] = type, ["dataname"] = name };
        if (extra is not null)
            foreach (var p in extra.GetType().GetProperties()) config[p.Name] = p.GetValue(extra);
        var r = await c.PostAsync($"/api/repo/{uuid}/instance", Json(config));
        await r.ExpectAsync(200);
    }

    public static async Task CommitAsync(this HttpClient c, string uuid, string note = "commit")
        => await (await c.PostAsync($"/api/node/{uuid}/commit", Json(new { note }))).ExpectAsync(200);

    public static async Task<string> NewVersionAsync(this HttpClient c, string uuid)
        => await (await c.PostAsync($"/api/node/{uuid}/newversion", new ByteArrayContent([]))).ChildAsync();

    public static async Task<string> BranchAsync(this HttpClient c, string uuid, string? branch, string note = "")
    {
        object body = branch is null ? new { note } : new { branch, note };
        return await (await c.PostAsync($"/api/node/{uuid}/branch", Json(body))).ChildAsync();
    }

    /// <summary>The <c>"child"</c> UUID of a 200 answer (newversion, branch, merge, resolve).</summary>
    public static async Task<string> ChildAsync(this HttpResponseMessage r)
    {
        await r.ExpectAsync(200);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("child").GetString()!;
    }

    public static async Task PutKeyAsync(this HttpClient c, string uuid, string name, string key, byte[] value)
        => await (await c.PostAsync($"/api/node/{uuid}/{name}/key/{Uri.EscapeDataString(key)}", new ByteArrayContent(value))).ExpectAsync(200);

    public static async Task<byte[]?> GetKeyAsync(this HttpClient c, string uuid, string name, string key)
    {
        var r = await c.GetAsync($"/api/node/{uuid}/{name}/key/{Uri.EscapeDataString(key)}");
        if (r.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        await r.ExpectAsync(200);
        return await r.Content.ReadAsByteArrayAsync();
    }

    public static async Task<JsonDocument> GetJsonAsync(this HttpClient c, string url)
    {
        var r = await c.GetAsync(url);
        await r.ExpectAsync(200);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync());
    }

    /// <summary>JSON body sent the way libdvid does: as application/x-www-form-urlencoded.</summary>
    public static HttpContent Json(object body)
    {
        var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        return content;
    }

    /// <summary>How many instances of a repo info are stored (generated <c>{labels}_meshes</c> instances left out).</summary>
    public static int StoredInstanceCount(JsonElement repoInfo)
        => repoInfo.GetProperty("DataInstances").EnumerateObject()
            .Count(i => i.Value.GetProperty("Base").GetProperty("Tags") is not { ValueKind: JsonValueKind.Object } t || !t.TryGetProperty("diced-generated", out _));

    public static HttpContent Text(string body) => new StringContent(body, Encoding.UTF8);

    /// <summary>Asserts the status code, showing the body on failure.</summary>
    public static async Task<HttpResponseMessage> ExpectAsync(this HttpResponseMessage r, int status)
    {
        if ((int)r.StatusCode != status)
            Assert.Fail($"{r.RequestMessage?.Method} {r.RequestMessage?.RequestUri}: expected {status}, got {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        return r;
    }

    /// <summary>Asserts a DVID-style error: the status, text/plain, a message naming the request path.</summary>
    public static async Task<string> ExpectErrorAsync(this HttpResponseMessage r, int status = 400, string? contains = null)
    {
        await r.ExpectAsync(status);
        var body = await r.Content.ReadAsStringAsync();
        Assert.StartsWith("text/plain", r.Content.Headers.ContentType?.ToString());
        Assert.Contains($"({r.RequestMessage!.RequestUri!.AbsolutePath}).", body);
        if (contains is not null) Assert.Contains(contains, body);
        return body;
    }

    public static async Task<HttpResponseMessage> SendAsync(this HttpClient c, HttpMethod method, string url, HttpContent? body = null)
        => await c.SendAsync(new HttpRequestMessage(method, url) { Content = body });
}
