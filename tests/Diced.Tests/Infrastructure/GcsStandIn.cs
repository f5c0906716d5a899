using System.Text.Json;
using Diced.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Diced.Tests.Infrastructure;

/// <summary>
/// A local stand-in for the GCS JSON API (no GCS emulator can run here): buckets, media upload with
/// <c>ifGenerationMatch</c>, <c>alt=media</c> reads with <c>x-goog-generation</c>, deletes, and ordered listings with
/// <c>prefix</c>, <c>startOffset</c>, <c>endOffset</c>, <c>maxResults</c> and page tokens, with GCS's status codes.
/// </summary>
public sealed class GcsStandIn : IAsyncLifetime
{
    private readonly object _sync = new();
    private readonly HashSet<string> _buckets = new();
    private readonly SortedDictionary<(string Bucket, string Name), (byte[] Data, long Generation)> _objects =
        new(Comparer<(string, string)>.Create((a, b) => string.CompareOrdinal(a.Item1, b.Item1) is var c and not 0 ? c : string.CompareOrdinal(a.Item2, b.Item2)));
    private long _generation = 1_700_000_000_000_000;
    private WebApplication? _app;

    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/storage/v1/b/{bucket}", (string bucket) => Has(bucket) ? Results.Json(new { name = bucket }) : Results.NotFound());
        app.MapPost("/storage/v1/b", async (HttpContext http) =>
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body);
            var name = doc.RootElement.GetProperty("name").GetString()!;
            lock (_sync) if (!_buckets.Add(name)) return Results.Conflict();
            return Results.Json(new { name });
        });
        app.MapGet("/storage/v1/b/{bucket}/o/{**name}", (string bucket, string name, HttpContext http) =>
        {
            if (http.Request.Query["alt"] != "media") return Results.BadRequest();
            lock (_sync)
            {
                if (!_objects.TryGetValue((bucket, Uri.UnescapeDataString(name)), out var o)) return Results.NotFound();
                http.Response.Headers["x-goog-generation"] = o.Generation.ToString();
                return Results.Bytes(o.Data, "application/octet-stream");
            }
        });
        app.MapPost("/upload/storage/v1/b/{bucket}/o", async (string bucket, HttpContext http) =>
        {
            var q = http.Request.Query;
            if (q["uploadType"] != "media" || string.IsNullOrEmpty(q["name"])) return Results.BadRequest();
            string name = q["name"]!;
            using var ms = new MemoryStream();
            await http.Request.Body.CopyToAsync(ms);
            lock (_sync)
            {
                if (!_buckets.Contains(bucket)) return Results.NotFound();
                if (q.ContainsKey("ifGenerationMatch"))
                {
                    if (!long.TryParse(q["ifGenerationMatch"], out var expected)) return Results.BadRequest("Invalid argument: ifGenerationMatch");
                    long current = _objects.TryGetValue((bucket, name), out var cur) ? cur.Generation : 0;
                    if (current != expected) return Results.StatusCode(412);
                }
                long generation = ++_generation;
                _objects[(bucket, name)] = (ms.ToArray(), generation);
                return Results.Json(new { name, bucket, generation = generation.ToString() });
            }
        });
        app.MapDelete("/storage/v1/b/{bucket}/o/{**name}", (string bucket, string name) =>
        {
            lock (_sync) return _objects.Remove((bucket, Uri.UnescapeDataString(name))) ? Results.NoContent() : Results.NotFound();
        });
        app.MapGet("/storage/v1/b/{bucket}/o", (string bucket, HttpContext http) =>
        {
            var q = http.Request.Query;
            string prefix = q["prefix"].ToString(), start = q["startOffset"].ToString(), end = q["endOffset"].ToString();
            int max = int.TryParse(q["maxResults"], out var m) ? Math.Min(m, 1000) : 1000;
            string after = q["pageToken"].ToString();
            lock (_sync)
            {
                if (!_buckets.Contains(bucket)) return Results.NotFound();
                var names = _objects.Keys.Where(k => k.Bucket == bucket).Select(k => k.Name)
                    .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
                    .Where(n => start.Length == 0 || string.CompareOrdinal(n, start) >= 0)
                    .Where(n => end.Length == 0 || string.CompareOrdinal(n, end) < 0)
                    .Where(n => after.Length == 0 || string.CompareOrdinal(n, after) > 0)
                    .Take(max + 1).ToList();
                var page = names.Take(max).Select(n => new { name = n, generation = _objects[(bucket, n)].Generation.ToString(), size = _objects[(bucket, n)].Data.Length.ToString() }).ToList();
                return names.Count > max
                    ? Results.Json(new { items = page, nextPageToken = page[^1].name })
                    : Results.Json(new { items = page });
            }
        });
        await app.StartAsync();
        _app = app;
        Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    private bool Has(string bucket)
    {
        lock (_sync) return _buckets.Contains(bucket);
    }

    public GcsStoreOptions Options => new() { Endpoint = Endpoint, Anonymous = true, CreateBucket = true, Project = "test" };

    public Task<GcsKeyValueStore> OpenStoreAsync(string prefix) => GcsKeyValueStore.OpenAsync("diced-test", prefix, Options);

    private DicedFactory? _server;

    /// <summary>One Diced server over the stand-in, shared by the GCS HTTP test classes.</summary>
    public DicedFactory Server
    {
        get
        {
            if (_server is not null) return _server;
            var f = new DicedFactory();
            f.Settings["Diced:Data"] = $"gs://diced-test/http-{Guid.NewGuid():N}";
            f.Settings["Diced:Gcs:Endpoint"] = Endpoint;
            f.Settings["Diced:Gcs:Anonymous"] = "true";
            f.Settings["Diced:Gcs:CreateBucket"] = "true";
            f.Settings["Diced:Gcs:Project"] = "test";
            return _server = f;
        }
    }

    public async Task DisposeAsync()
    {
        _server?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class GcsCollection : ICollectionFixture<GcsStandIn>
{
    public const string Name = "gcs stand-in";
}
