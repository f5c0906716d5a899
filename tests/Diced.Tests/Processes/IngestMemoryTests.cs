using System.Diagnostics;
using Diced.Client;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Processes;

/// <summary>
/// Issue 17: <c>diced ingest</c> of a 1 GiB raw volume into a local store raises the process's peak memory by less
/// than 256 MiB over an ingest of one block (it used to peak above 2 GB: whole 64 MiB requests held several times
/// over, and dead encoded blocks piling up), and stores every voxel.
/// </summary>
[Collection(ProcessCollection.Name)]
public class IngestMemoryTests
{
    private const int Side = 1024;

    [Fact]
    public async Task A_1_GiB_ingest_raises_peak_memory_by_less_than_256_MiB_and_stores_every_voxel()
    {
        var dir = TempDir.Create("diced-ingest-mem");
        try
        {
            var raw = Path.Combine(dir, "volume.raw");
            var slice = await WriteVolumeAsync(raw);
            var small = Path.Combine(dir, "block.raw");
            await File.WriteAllBytesAsync(small, slice.AsSpan(0, 64 * 64 * 64).ToArray());

            long baseline = RunIngest(small, "64,64,64", Path.Combine(dir, "small-store"));
            long peak = RunIngest(raw, $"{Side},{Side},{Side}", Path.Combine(dir, "store"));
            long raised = peak - baseline;
            Assert.True(raised < 256L << 20, $"peak memory {peak >> 20} MiB, {raised >> 20} MiB over the {baseline >> 20} MiB of a one-block ingest");

            await using var store = await DicedStore.OpenAsync(Path.Combine(dir, "store"), new DicedStoreOptions { Port = 0 });
            var repo = await store.OpenRepoAsync("mem");
            var array = await repo.GetArrayAsync("grey");
            foreach (int z in new[] { 0, 63, 64, 511, 1000, 1023 })
            {
                var got = await array.ReadRawAsync((0, 0, z), (Side, Side, 1));
                Assert.True(Expected(slice, z).AsSpan().SequenceEqual(got), $"slice z={z} differs from the input");
            }
        }
        finally { TempDir.Delete(dir); }
    }

    /// <summary>EM-like slices (smooth structure and noise) from one noise slice shifted by z; returns that slice.</summary>
    private static async Task<byte[]> WriteVolumeAsync(string path)
    {
        var rng = new Random(17);
        var slice = new byte[Side * Side];
        for (int y = 0, i = 0; y < Side; y++)
            for (int x = 0; x < Side; x++, i++)
                slice[i] = (byte)(128 + 60 * Math.Sin(x / 9.0) * Math.Cos(y / 13.0) + rng.Next(24));
        await using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        for (int z = 0; z < Side; z++) await f.WriteAsync(Expected(slice, z));
        return slice;
    }

    private static byte[] Expected(byte[] slice, int z)
    {
        var s = new byte[slice.Length];
        int shift = z * 4099 % slice.Length;
        slice.AsSpan(shift).CopyTo(s);
        slice.AsSpan(0, shift).CopyTo(s.AsSpan(slice.Length - shift));
        return s;
    }

    /// <summary>Runs <c>diced ingest</c> in its own process; returns its peak resident memory (VmHWM), in bytes.</summary>
    private static long RunIngest(string input, string size, string store)
    {
        var cli = Path.Combine(Path.GetDirectoryName(ServerProcess.ServerDll)!, "..", "..", "..", "..", "Diced.Cli", "bin",
            new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "diced.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.GetFullPath(cli), "ingest", input, "--size", size, "--repo", "mem", "--array", "grey", "--create", "--store", store })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        var status = $"/proc/{p.Id}/status";
        var clock = Stopwatch.StartNew();
        while (!p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            // VmHWM only grows: the last reading before the exit is the peak, give or take the final moments.
            try
            {
                foreach (var line in File.ReadLines(status))
                    if (line.StartsWith("VmHWM:")) peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024);
            }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        Assert.True(p.WaitForExit(10_000), "diced ingest did not finish in 3 minutes");
        Assert.True(p.ExitCode == 0, $"diced ingest failed: {stdout.Result} {stderr.Result}");
        return peak;
    }
}
