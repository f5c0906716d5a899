using System.Net;

namespace Diced.Bench;

/// <summary>
/// keyvalue GET of a 1 MiB value over loopback, against the same number of bytes served from memory by a trivial
/// endpoint of the same server, in the same run.
/// </summary>
public static class KeyValueThroughputBench
{
    public static async Task RunAsync()
    {
        const int size = 1 << 20, requests = 100, rounds = 9;
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"keyvalue\",\"dataname\":\"kv\"}");
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"keyvalue\",\"dataname\":\"raw\",\"Compression\":\"none\"}");
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        foreach (var name in new[] { "kv", "raw" })
        {
            var put = await server.Client.PostAsync($"/api/node/{uuid}/{name}/key/blob", new ByteArrayContent(payload));
            if (put.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException("could not store the value");
        }
        server.Settle();
        var memory = $"/bench/memory/{size}";
        foreach (var url in new[] { memory, $"/api/node/{uuid}/kv/key/blob", $"/api/node/{uuid}/raw/key/blob" })
            await server.GetThroughputAsync(url, size, 20); // warm up
        var (mem, kv, rKv) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync(memory, size, requests), () => server.GetThroughputAsync($"/api/node/{uuid}/kv/key/blob", size, requests));
        var (_, raw, rRaw) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync(memory, size, requests), () => server.GetThroughputAsync($"/api/node/{uuid}/raw/key/blob", size, requests));
        Console.WriteLine($"(median of {rounds} rounds; ratio = median of per-round ratios)");
        Console.WriteLine($"1 MiB from memory (trivial endpoint):       {mem,8:F0} MB/s");
        Console.WriteLine($"1 MiB keyvalue GET (lz4 instance):          {kv,8:F0} MB/s   ratio {rKv:F2}x");
        Console.WriteLine($"1 MiB keyvalue GET (uncompressed instance): {raw,8:F0} MB/s   ratio {rRaw:F2}x");
    }
}
