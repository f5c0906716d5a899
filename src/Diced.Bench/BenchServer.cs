using System.Net;
using Diced.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Diced.Bench;

/// <summary>
/// A Diced server on loopback with two baseline endpoints: <c>/bench/memory/{n}</c> sends n bytes from memory and
/// <c>/bench/discard</c> reads and drops a body. Ratios against them factor out the HTTP stack and the machine.
/// </summary>
public sealed class BenchServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;

    private BenchServer(WebApplication app, string dir, HttpClient client)
    {
        _app = app;
        _dir = dir;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Bytes the embedded store's files take on disk.</summary>
    public long StoreBytes() => Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    /// <summary>Reads every file of the store and discards it (a baseline for whole-store scans); returns the bytes read.</summary>
    public long ReadStoreFiles()
    {
        long total = 0;
        var buffer = new byte[1 << 20];
        foreach (var f in Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories))
        {
            using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            for (int n; (n = s.Read(buffer)) > 0;) total += n;
        }
        return total;
    }

    /// <summary>Starts a server on the embedded store in a temp directory, or on <paramref name="data"/> with <paramref name="extraArgs"/>.</summary>
    public static async Task<BenchServer> StartAsync(string? data = null, params string[] extraArgs)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"diced-bench-{Guid.NewGuid():N}");
        var app = DicedApp.Configure(DicedApp.CreateBuilder(["--urls", "http://127.0.0.1:0", "--data", data ?? dir, "--Serilog:MinimumLevel:Default", "Warning",
            "--Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime", "Warning", .. extraArgs]).Build());
        var payload = new byte[1 << 30 >> 4]; // 64 MiB of noise
        Random.Shared.NextBytes(payload);
        app.MapGet("/bench/memory/{n:int}", async (HttpContext http, int n) =>
        {
            http.Response.ContentType = "application/octet-stream";
            http.Response.ContentLength = n;
            for (int sent = 0; sent < n; sent += Math.Min(n - sent, payload.Length)) // larger requests repeat the payload
                await http.Response.Body.WriteAsync(payload.AsMemory(0, Math.Min(n - sent, payload.Length)));
        });
        app.MapPost("/bench/discard", async (HttpContext http) =>
        {
            var buffer = new byte[1 << 16];
            while (await http.Request.Body.ReadAsync(buffer) > 0) { }
        });
        await app.StartAsync();
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = app.ListenAddress(), Timeout = TimeSpan.FromMinutes(5) };
        return new BenchServer(app, dir, client);
    }

    /// <summary>Flushes and compacts the embedded store so measurements see a settled database.</summary>
    public void Settle()
    {
        if (_app.Services.GetRequiredService<Diced.Storage.IKeyValueStore>() is Diced.Storage.RocksDbKeyValueStore rocks) rocks.Compact();
        GC.Collect();
    }

    public async Task<string> CreateRepoAsync()
        => (await (await Client.PostAsync("/api/repos", new StringContent("{}"))).Content.ReadAsStringAsync()).Split('"')[3];

    public async Task CreateInstanceAsync(string uuid, string json)
    {
        var r = await Client.PostAsync($"/api/repo/{uuid}/instance", new StringContent(json));
        if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException(await r.Content.ReadAsStringAsync());
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="url"/>; anything but 200 stops the benchmark with the server's answer.</summary>
    public async Task PostAsync(string url, byte[] body)
    {
        using var r = await Client.PostAsync(url, new ByteArrayContent(body));
        if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{url}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    public Task PostAsync(string url, string body) => PostAsync(url, System.Text.Encoding.UTF8.GetBytes(body));

    /// <summary>MB/s of GETs of <paramref name="url"/>, each of exactly <paramref name="expected"/> bytes.</summary>
    public async Task<double> GetThroughputAsync(string url, long expected, int requests)
    {
        var buffer = new byte[1 << 20];
        var seconds = await Measure.SecondsPerOpAsync(requests, async () =>
        {
            using var r = await Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{url}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            await using var s = await r.Content.ReadAsStreamAsync();
            long total = 0;
            int n;
            while ((n = await s.ReadAsync(buffer)) > 0) total += n;
            if (total != expected) throw new InvalidOperationException($"{url} returned {total} bytes, expected {expected}");
        });
        return expected / seconds / 1e6;
    }

    /// <summary>MB/s of POSTs of <paramref name="body"/> to <paramref name="url"/>.</summary>
    public async Task<double> PostThroughputAsync(string url, byte[] body, int requests)
    {
        var seconds = await Measure.SecondsPerOpAsync(requests, async () =>
        {
            using var r = await Client.PostAsync(url, new ByteArrayContent(body));
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{url}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        });
        return body.Length / seconds / 1e6;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
