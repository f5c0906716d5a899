namespace Diced.Bench;

/// <summary>
/// One time point of a 4-D <c>(16, 256, 256, 256)</c> uint8 ndarray (chunks 64³×1) read through the server against
/// the same 256³ read from a 3-D uint8blk holding the same voxels. Bar: ≥ 0.9x.
/// </summary>
public static class NdArrayBench
{
    public static async Task RunAsync()
    {
        const int n = 256, times = 16, rounds = 9, requests = 4, t = 7;
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"grey\",\"BlockSize\":\"64,64,64\"}");
        await server.CreateInstanceAsync(uuid, $"{{\"typename\":\"ndarray\",\"dataname\":\"movie\",\"Shape\":\"{n},{n},{n},{times}\",\"BlockSize\":\"64,64,64,1\"}}");
        var rng = new Random(1);
        var frame = new byte[n * n * n];
        for (int tt = 0; tt < times; tt++)
        {
            Measure.Progress($"ingesting time point {tt + 1}/{times}");
            // EM-like content that drifts over time: smooth structure plus noise.
            for (int z = 0, i = 0; z < n; z++)
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++, i++)
                        frame[i] = (byte)(128 + 60 * Math.Sin((x + 3 * tt) / 9.0) * Math.Cos(y / 13.0) + 20 * Math.Sin(z / 7.0) + rng.Next(24));
            await server.PostThroughputAsync($"/api/node/{uuid}/movie/raw/0_1_2/{n}_{n}_{n}/0_0_0_{tt}", frame, 1);
            if (tt == t) await server.PostThroughputAsync($"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0", frame, 1);
        }
        Measure.EndProgress();
        server.Settle();
        long bytes = (long)n * n * n;
        var volume = $"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0";
        var slice = $"/api/node/{uuid}/movie/raw/0_1_2/{n}_{n}_{n}/0_0_0_{t}";
        var full = $"/api/node/{uuid}/movie/raw/0_1_2_3/{n}_{n}_{n}_1/0_0_0_{t}";
        const int m = 192; // inside the shape
        long offsetBytes = (long)m * m * m;
        var offset = $"/api/node/{uuid}/movie/raw/0_1_2/{m}_{m}_{m}/17_33_5_{t}";
        var offsetVolume = $"/api/node/{uuid}/grey/raw/0_1_2/{m}_{m}_{m}/17_33_5";
        foreach (var url in new[] { volume, slice }) await server.GetThroughputAsync(url, bytes, 2); // warm
        foreach (var url in new[] { offsetVolume, offset }) await server.GetThroughputAsync(url, offsetBytes, 2);
        var (v, s, rS) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync(volume, bytes, requests), () => server.GetThroughputAsync(slice, bytes, requests));
        var (v2, f, rF) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync(volume, bytes, requests), () => server.GetThroughputAsync(full, bytes, requests));
        var (v3, o, rO) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync(offsetVolume, offsetBytes, requests), () => server.GetThroughputAsync(offset, offsetBytes, requests));
        Console.WriteLine($"(median of {rounds} rounds; ratio = median of per-round ratios)");
        Console.WriteLine($"GET 256^3 uint8 from a 3-D uint8blk:                  {v,7:F0} MB/s");
        Console.WriteLine($"GET one time point of (16,256,256,256) as raw/0_1_2:  {s,7:F0} MB/s  ratio {rS:F2}x (bar >= 0.9x)");
        Console.WriteLine($"GET the same as raw/0_1_2_3 with t size 1:           {f,7:F0} MB/s  ratio {rF:F2}x vs {v2:F0} MB/s");
        Console.WriteLine($"GET 192^3 of one time point at offset 17,33,5:       {o,7:F0} MB/s  ratio {rO:F2}x vs {v3:F0} MB/s from the uint8blk at the same offset");
    }
}
