using System.Net;
using Diced.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Diced.Bench;

/// <summary>
/// keyvalue GET of a 1 MiB value over loopback, against the same bytes served from memory by a trivial endpoint
/// of the same server, in the same run.
/// </summary>
public static class KeyValueThroughputBench
{
    public static async Task RunAsync()
    {
        const int size = 1 << 20, requests = 300, rounds = 5;
        var dir = Path.Combine(Path.GetTempPath(), $"diced-bench-kv-{Guid.NewGuid():N}");
        var app = DicedApp.Configure(DicedApp.CreateBuilder(["--urls", "http://127.0.0.1:0", "--data", dir, "--Serilog:MinimumLevel:Default", "Warning"]).Build());
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        app.MapGet("/bench/memory", (HttpContext http) =>
        {
            http.Response.ContentType = "application/octet-stream";
            http.Response.ContentLength = payload.Length;
            return http.Response.Body.WriteAsync(payload).AsTask();
        });
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4 }) { BaseAddress = new Uri(address) };
            var uuid = (await (await client.PostAsync("/api/repos", new StringContent("{}"))).Content.ReadAsStringAsync()).Split('"')[3];
            await client.PostAsync($"/api/repo/{uuid}/instance", new StringContent("{\"typename\":\"keyvalue\",\"dataname\":\"kv\"}"));
            await client.PostAsync($"/api/repo/{uuid}/instance", new StringContent("{\"typename\":\"keyvalue\",\"dataname\":\"raw\",\"Compression\":\"none\"}"));
            foreach (var name in new[] { "kv", "raw" })
            {
                var put = await client.PostAsync($"/api/node/{uuid}/{name}/key/blob", new ByteArrayContent(payload));
                if (put.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException("could not store the value");
            }
            var buffer = new byte[size + 1];

            async Task<double> Throughput(string url)
            {
                var secondsPerRequest = await Measure.SecondsPerOpAsync(requests, async () =>
                {
                    using var r = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                    await using var s = await r.Content.ReadAsStreamAsync();
                    int total = 0, n;
                    while ((n = await s.ReadAsync(buffer)) > 0) total += n;
                    if (total != size) throw new InvalidOperationException($"{url} returned {total} bytes");
                });
                return size / secondsPerRequest / 1e6;
            }

            await Throughput("/bench/memory");
            await Throughput($"/api/node/{uuid}/kv/key/blob");
            var (memory, kv) = await Measure.AlternateAsync(rounds, () => Throughput("/bench/memory"), () => Throughput($"/api/node/{uuid}/kv/key/blob"));
            var (memory2, raw) = await Measure.AlternateAsync(rounds, () => Throughput("/bench/memory"), () => Throughput($"/api/node/{uuid}/raw/key/blob"));
            Console.WriteLine($"1 MiB from memory (trivial endpoint):       {memory,8:F0} MB/s");
            Console.WriteLine($"1 MiB keyvalue GET (lz4 instance):          {kv,8:F0} MB/s   ratio {kv / memory:F2}x");
            Console.WriteLine($"1 MiB keyvalue GET (uncompressed instance): {raw,8:F0} MB/s   ratio {raw / memory2:F2}x");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
