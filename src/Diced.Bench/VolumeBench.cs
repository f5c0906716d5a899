namespace Diced.Bench;

/// <summary>
/// Subvolume GET and POST through the server against the same number of bytes served from memory (or read and
/// discarded) by trivial endpoints of the same server. Bars: aligned GET of 256³ uint8 ≥ 0.5x, unaligned ≥ 0.35x.
/// </summary>
public static class VolumeBench
{
    public static async Task RunAsync()
    {
        const int n = 256, rounds = 9, requests = 4;
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"grey\",\"BlockSize\":\"64,64,64\"}");
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint16blk\",\"dataname\":\"grey16\",\"BlockSize\":\"64,64,64\"}");
        // EM-like content: smooth structure plus noise, so LZ4 has about as much to do as on real data.
        const int extent = 320;
        var rng = new Random(1);
        var grey = new byte[extent * extent * extent];
        for (int z = 0, i = 0; z < extent; z++)
            for (int y = 0; y < extent; y++)
                for (int x = 0; x < extent; x++, i++)
                    grey[i] = (byte)(128 + 60 * Math.Sin(x / 9.0) * Math.Cos(y / 13.0) + 20 * Math.Sin(z / 7.0) + rng.Next(24));
        var grey16 = new byte[2 * n * n * n];
        for (int i = 0; i < n * n * n; i++) BitConverter.TryWriteBytes(grey16.AsSpan(2 * i), (ushort)(grey[i] * 97));
        Measure.Progress("ingesting");
        await server.PostThroughputAsync($"/api/node/{uuid}/grey/raw/0_1_2/{extent}_{extent}_{extent}/0_0_0", grey, 1);
        await server.PostThroughputAsync($"/api/node/{uuid}/grey16/raw/0_1_2/{n}_{n}_{n}/0_0_0", grey16, 1);
        Measure.EndProgress();

        server.Settle();
        long bytes8 = (long)n * n * n, bytes16 = 2 * bytes8;
        var aligned = $"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0";
        var unaligned = $"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/17_33_5";
        var wide = $"/api/node/{uuid}/grey16/raw/0_1_2/{n}_{n}_{n}/0_0_0";
        foreach (var url in new[] { aligned, unaligned, $"/bench/memory/{bytes8}" }) await server.GetThroughputAsync(url, bytes8, 2); // warm

        var (mem, al, rAl) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync($"/bench/memory/{bytes8}", bytes8, requests), () => server.GetThroughputAsync(aligned, bytes8, requests));
        var (mem2, un, rUn) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync($"/bench/memory/{bytes8}", bytes8, requests), () => server.GetThroughputAsync(unaligned, bytes8, requests));
        var (mem16, w16, r16) = await Measure.RatioAsync(rounds, () => server.GetThroughputAsync($"/bench/memory/{bytes16}", bytes16, requests), () => server.GetThroughputAsync(wide, bytes16, requests));
        var slab = grey.AsSpan(0, (int)bytes8).ToArray();
        var (discard, post, rPost) = await Measure.RatioAsync(rounds, () => server.PostThroughputAsync("/bench/discard", slab, requests),
            () => server.PostThroughputAsync($"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0", slab, requests));
        Console.WriteLine($"(median of {rounds} rounds; ratio = median of per-round ratios)");
        Console.WriteLine($"GET 256^3 uint8 from memory (trivial endpoint): {mem,7:F0} MB/s");
        Console.WriteLine($"GET raw 256^3 uint8, block-aligned:             {al,7:F0} MB/s  ratio {rAl:F2}x (bar >= 0.5x)");
        Console.WriteLine($"GET raw 256^3 uint8, offset 17,33,5:            {un,7:F0} MB/s  ratio {rUn:F2}x (bar >= 0.35x)");
        Console.WriteLine($"GET raw 256^3 uint16, block-aligned:            {w16,7:F0} MB/s  ratio {r16:F2}x vs {mem16:F0} MB/s from memory");
        Console.WriteLine($"POST raw 256^3 uint8, block-aligned (lz4):      {post,7:F0} MB/s  ratio {rPost:F2}x vs {discard:F0} MB/s read-and-discard");
    }
}
