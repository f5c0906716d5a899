using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Diced.Bench;

/// <summary>
/// Diced against the array stores a user would otherwise pick, same volume, chunking and machine, one run: a 512³ uint8
/// volume (smooth pattern plus noise) ingested whole, 256³ read and written block-aligned and at offset 17,33,5 —
/// through Diced over HTTP (64³ blocks, LZ4), through zarr-python 2 (64³ chunks, Blosc-lz4) and through h5py (64³
/// chunks) in-process (<c>peers.py</c>, Debian's python3-zarr and python3-h5py). Best of 3 for the peers and Diced's ingest, of 5 for
/// Diced's reads and writes (single 16 MiB requests on a shared 2-core machine vary by 2-3x from one run to the next).
/// </summary>
public static class PeersBench
{
    public static async Task RunAsync()
    {
        var work = Path.Combine(Path.GetTempPath(), $"diced-peers-{Guid.NewGuid():N}");
        try
        {
            Measure.Progress("zarr and h5py (peers.py)");
            var script = Path.Combine(AppContext.BaseDirectory, "peers.py");
            var psi = new ProcessStartInfo("/usr/bin/python3", [script, work]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var py = Process.Start(psi)!;
            var stdout = await py.StandardOutput.ReadToEndAsync();
            var stderr = await py.StandardError.ReadToEndAsync();
            await py.WaitForExitAsync();
            Measure.EndProgress();
            if (py.ExitCode != 0) throw new InvalidOperationException($"peers.py failed (needs python3-numpy, python3-zarr, python3-h5py): {stderr.Trim().Split('\n').LastOrDefault()}");
            using var peers = JsonDocument.Parse(stdout);
            var root = peers.RootElement;
            int n = root.GetProperty("n").GetInt32(), s = root.GetProperty("box").GetInt32();
            var volume = await File.ReadAllBytesAsync(Path.Combine(work, "volume.raw"));
            var patch = await File.ReadAllBytesAsync(Path.Combine(work, "patch.raw"));

            await using var server = await BenchServer.StartAsync();
            var diced = new Dictionary<string, double>();
            string uuid = "";
            diced["ingest"] = await Best(3, async () =>
            {
                uuid = await server.CreateRepoAsync();
                await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"v\",\"BlockSize\":\"64,64,64\"}");
                var sw = Stopwatch.StartNew();
                await server.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/{n}_{n}_{n}/0_0_0", volume);
                return sw.Elapsed.TotalSeconds;
            });
            server.Settle();
            string Box(int x, int y, int z) => $"/api/node/{uuid}/v/raw/0_1_2/{s}_{s}_{s}/{x}_{y}_{z}";
            diced["read_aligned"] = await Best(5, () => Time(() => server.GetThroughputAsync(Box(0, 0, 0), (long)s * s * s, 1)));
            diced["read_offset"] = await Best(5, () => Time(() => server.GetThroughputAsync(Box(17, 33, 5), (long)s * s * s, 1)));
            diced["write_aligned"] = await Best(5, () => Time(() => server.PostAsync(Box(0, 0, 0), patch)));
            diced["write_offset"] = await Best(5, () => Time(() => server.PostAsync(Box(17, 33, 5), patch)));

            Console.WriteLine($"({n}^3 uint8, {s}^3 boxes, 64^3 chunks; best of 3 (Diced reads and writes: of 5); ratios are Diced's throughput over the peer's, > 1 is Diced faster)");
            Console.WriteLine($"{"",-14} {"Diced",9} {"zarr",9} {"h5py",9}   Diced/zarr  Diced/h5py");
            foreach (var op in new[] { "ingest", "read_aligned", "read_offset", "write_aligned", "write_offset" })
            {
                double bytes = op == "ingest" ? (double)n * n * n : (double)s * s * s;
                double z = root.GetProperty("zarr").GetProperty(op).GetDouble(), h = root.GetProperty("h5py").GetProperty(op).GetDouble(), d = diced[op];
                Console.WriteLine($"{op,-14} {bytes / d / 1e6,6:F0} MB/s {bytes / z / 1e6,4:F0} MB/s {bytes / h / 1e6,4:F0} MB/s   {z / d,6:F2}x     {h / d,6:F2}x");
            }
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    private static async Task<double> Time(Func<Task> op)
    {
        var sw = Stopwatch.StartNew();
        await op();
        return sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> Best(int reps, Func<Task<double>> op)
    {
        double best = double.MaxValue;
        for (int i = 0; i < reps; i++) best = Math.Min(best, await op());
        return best;
    }
}
