using System.Diagnostics;
using Diced.Cli;

namespace Diced.Bench;

/// <summary>
/// <c>diced ingest</c> of a 1 GiB (1024³ uint8) raw file into a local store, against a copy of the same file flushed
/// to disk in the same run (both read the same bytes from the page cache; the copy writes them once). Also reported:
/// the same ratio without the fixed cost of starting (an ingest of one block, timed in the same round).
/// </summary>
public static class IngestBench
{
    public static async Task RunAsync()
    {
        const int x = 1024, y = 1024, z = 1024, rounds = 3;
        var dir = Path.Combine(Path.GetTempPath(), $"diced-ingest-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var raw = Path.Combine(dir, "volume.raw");
            Measure.Progress("writing a 1 GiB EM-like raw volume");
            var small = Path.Combine(dir, "block.raw");
            await using (var f = File.Create(raw))
            {
                // One slice of structure and noise, shifted from slice to slice (computing every voxel takes minutes).
                var rng = new Random(1);
                var slice = new byte[x * y];
                for (int j = 0, i = 0; j < y; j++)
                    for (int c = 0; c < x; c++, i++)
                        slice[i] = (byte)(128 + 60 * Math.Sin(c / 9.0) * Math.Cos(j / 13.0) + rng.Next(24));
                await File.WriteAllBytesAsync(small, slice.AsSpan(0, 64 * 64 * 64).ToArray());
                var shifted = new byte[x * y];
                for (int k = 0; k < z; k++)
                {
                    int shift = k * 4099 % slice.Length;
                    slice.AsSpan(shift).CopyTo(shifted);
                    slice.AsSpan(0, shift).CopyTo(shifted.AsSpan(slice.Length - shift));
                    await f.WriteAsync(shifted);
                }
            }
            Measure.EndProgress();
            double bytes = (double)x * y * z;
            var copies = new List<double>();
            var ingests = new List<double>();
            var ratios = new List<double>();
            var streaming = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                var copy = Path.Combine(dir, $"copy{r}.raw");
                var sw = Stopwatch.StartNew();
                File.Copy(raw, copy);
                using (var h = File.OpenHandle(copy, FileMode.Open, FileAccess.ReadWrite)) RandomAccess.FlushToDisk(h);
                copies.Add(bytes / sw.Elapsed.TotalSeconds / 1e6);
                File.Delete(copy);

                var store = Path.Combine(dir, $"store{r}");
                double startup = await IngestSeconds(small, "64,64,64", Path.Combine(dir, $"small{r}"));
                double seconds = await IngestSeconds(raw, $"{x},{y},{z}", store);
                ingests.Add(bytes / seconds / 1e6);
                ratios.Add(ingests[^1] / copies[^1]);
                streaming.Add(bytes / (seconds - startup) / 1e6 / copies[^1]);
                Directory.Delete(store, true);
                Directory.Delete(Path.Combine(dir, $"small{r}"), true);
            }
            Console.WriteLine($"(median of {rounds} rounds; 1024x1024x1024 uint8 = 1 GiB; the copy is flushed to disk; the store's writes are fsynced table files)");
            Console.WriteLine($"plain file copy + flush:            {Measure.Median(copies),7:F0} MB/s");
            Console.WriteLine($"diced ingest into a local store:    {Measure.Median(ingests),7:F0} MB/s  ratio {Measure.Median(ratios):F2}x (includes starting the store)");
            Console.WriteLine($"  without the start (1-block ingest time subtracted):      ratio {Measure.Median(streaming):F2}x");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static async Task<double> IngestSeconds(string input, string size, string store)
    {
        var sw = Stopwatch.StartNew();
        int code = await DicedCli.RunAsync(["ingest", input, "--size", size, "--repo", "bench", "--array", "grey", "--create", "--store", store],
            TextWriter.Null, TextWriter.Null);
        if (code != 0) throw new InvalidOperationException($"diced ingest failed with exit code {code}");
        return sw.Elapsed.TotalSeconds;
    }
}
