namespace Diced.Bench;

/// <summary>
/// What keeping an image pyramid costs writes: POST raw 256³ uint8 into an instance keeping 3 levels against the
/// same POST into one keeping none (the levels are recomputed in the write's commit), and what a zoomed-out reader
/// saves: the 64³ of level 2 against the 256³ of level 0 it summarises.
/// </summary>
public static class PyramidBench
{
    public static async Task RunAsync()
    {
        const int n = 256, rounds = 7, requests = 3;
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"flat\",\"BlockSize\":\"64,64,64\"}");
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"pyr\",\"BlockSize\":\"64,64,64\",\"MaxDownresLevel\":\"3\"}");
        var rng = new Random(1);
        var grey = new byte[n * n * n];
        for (int z = 0, i = 0; z < n; z++)
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++, i++)
                    grey[i] = (byte)(128 + 60 * Math.Sin(x / 9.0) * Math.Cos(y / 13.0) + 20 * Math.Sin(z / 7.0) + rng.Next(24));
        var flat = $"/api/node/{uuid}/flat/raw/0_1_2/{n}_{n}_{n}/0_0_0";
        var pyr = $"/api/node/{uuid}/pyr/raw/0_1_2/{n}_{n}_{n}/0_0_0";
        await server.PostThroughputAsync(flat, grey, 1);
        await server.PostThroughputAsync(pyr, grey, 1);
        server.Settle();
        var (f, p, rW) = await Measure.RatioAsync(rounds, () => server.PostThroughputAsync(flat, grey, requests), () => server.PostThroughputAsync(pyr, grey, requests));
        // Seconds per read (not throughput): a level-2 read answers the same view with 1/64 of the voxels.
        var (t0, t2, rR) = await Measure.RatioAsync(rounds,
            async () => 1 / await Measure.SecondsPerOpAsync(requests, () => server.GetThroughputAsync(pyr, (long)n * n * n, 1)),
            async () => 1 / await Measure.SecondsPerOpAsync(requests, () => server.GetThroughputAsync($"/api/node/{uuid}/pyr_2/raw/0_1_2/64_64_64/0_0_0", 64 * 64 * 64, 1)));
        Console.WriteLine($"(median of {rounds} rounds; ratio = median of per-round ratios)");
        Console.WriteLine($"POST raw 256^3 uint8, no pyramid:             {f,7:F0} MB/s");
        Console.WriteLine($"POST raw 256^3 uint8, keeping 3 levels:       {p,7:F0} MB/s  ratio {rW:F2}x");
        Console.WriteLine($"Reads per second of the 256^3 view: level 0 {t0,6:F1}/s, level 2 (64^3) {t2,6:F1}/s  ratio {rR:F1}x");
    }
}
