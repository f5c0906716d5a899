using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace Diced.Server.Operations;

/// <summary>
/// Running Diced for a lab: Prometheus metrics at <c>/metrics</c> through OpenTelemetry (ASP.NET Core's request
/// metrics per route, bytes in and out per route, the data model's commits and open writes), liveness at
/// <c>/healthz</c> and readiness at <c>/readyz</c> (the store answers, shared metadata is fresh).
/// </summary>
public static class Observability
{
    private static readonly Meter Meter = new("Diced.Http");
    private const string StorageMeter = "Diced.Storage";
    private static readonly Counter<long> BytesIn = Meter.CreateCounter<long>("diced.http.bytes_in", "By", "request body bytes per route");
    private static readonly Counter<long> BytesOut = Meter.CreateCounter<long>("diced.http.bytes_out", "By", "response body bytes per route");

    public static void AddObservability(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddAspNetCoreInstrumentation()
            .AddMeter(Datastore.DicedMetrics.MeterName, Meter.Name, StorageMeter)
            .AddPrometheusExporter());
    }

    /// <summary>Counts request and response bytes per route template (bounded cardinality).</summary>
    public static IApplicationBuilder UseByteCounters(this IApplicationBuilder app)
        => app.Use(async (http, next) =>
        {
            await next(http);
            var route = new KeyValuePair<string, object?>("http.route", (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(static)");
            if (http.Request.ContentLength is > 0 and var inBytes) BytesIn.Add(inBytes, route);
            if (http.Response.ContentLength is > 0 and var outBytes) BytesOut.Add(outBytes, route);
        });

    public static void MapObservability(this WebApplication app)
    {
        // RocksDB's block cache, when the main store is the embedded one.
        // (A meter of this server's own, closed when it stops: several servers may share a process.)
        if (app.Services.GetRequiredService<Storage.IKeyValueStore>() is Storage.RocksDbKeyValueStore rocks)
        {
            var meter = new Meter(StorageMeter);
            meter.CreateObservableCounter("diced.rocksdb.block_cache.hits", () => rocks.BlockCacheHits, description: "RocksDB block cache hits");
            meter.CreateObservableCounter("diced.rocksdb.block_cache.misses", () => rocks.BlockCacheMisses, description: "RocksDB block cache misses");
            app.Lifetime.ApplicationStopping.Register(meter.Dispose);
        }
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", async (Datastore.Datastore ds, HttpContext http) =>
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                await ds.Store.GetAsync(Datastore.Datastore.ReadinessProbeKey, cts.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
            {
                return Results.Text($"not ready: the store does not answer: {e.Message.Split('\n')[0]}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            if (ds.MetadataAge is { } age && age > Datastore.Versioning.WriteFence.Window)
                return Results.Text($"not ready: shared metadata was last read {age.TotalSeconds:F1} s ago\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            return Results.Text("ready\n");
        });
    }
}
