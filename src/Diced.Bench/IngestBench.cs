using System.Diagnostics;
using Diced.Cli;

namespace Diced.Bench;

/// <summary>
/// <c>diced ingest</c> of a 1024×1024×256 uint8 raw file into a local store, against a plain copy of the same file
/// in the same run (both read the same bytes from the page cache; the copy writes them once).
/// </summary>
public static class IngestBench
{
    public static async Task RunAsync()
    {
        const int x = 1024, y = 1024, z = 256, rounds = 3;
        var dir = Path.Combine(Path.GetTempPath(), $"diced-ingest-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var raw = Path.Combine(dir, "volume.raw");
            Measure.Progress("writing a 256 MiB EM-like raw volume");
            await using (var f = File.Create(raw))
            {
                var rng = new Random(1);
                var slice = new byte[x * y];
                for (int k = 0; k < z; k++)
                {
                    for (int j = 0, i = 0; j < y; j++)
                        for (int c = 0; c < x; c++, i++)
                            slice[i] = (byte)(128 + 60 * Math.Sin(c / 9.0) * Math.Cos(j / 13.0) + 20 * Math.Sin(k / 7.0) + rng.Next(24));
                    await f.WriteAsync(slice);
                }
            }
            Measure.EndProgress();
            double bytes = (double)x * y * z;
            var copies = new List<double>();
            var ingests = new List<double>();
            var ratios = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                var copy = Path.Combine(dir, $"copy{r}.raw");
                var sw = Stopwatch.StartNew();
                File.Copy(raw, copy);
                using (var h = File.OpenHandle(copy, FileMode.Open, FileAccess.ReadWrite)) RandomAccess.FlushToDisk(h);
                copies.Add(bytes / sw.Elapsed.TotalSeconds / 1e6);
                File.Delete(copy);

                var store = Path.Combine(dir, $"store{r}");
                sw.Restart();
                int code = await DicedCli.RunAsync(["ingest", raw, "--size", $"{x},{y},{z}", "--repo", "bench", "--array", "grey", "--create", "--store", store],
                    TextWriter.Null, TextWriter.Null);
                if (code != 0) throw new InvalidOperationException($"diced ingest failed with exit code {code}");
                ingests.Add(bytes / sw.Elapsed.TotalSeconds / 1e6);
                ratios.Add(ingests[^1] / copies[^1]);
                Directory.Delete(store, true);
            }
            Console.WriteLine($"(median of {rounds} rounds; 1024x1024x256 uint8 = 256 MiB; the copy is flushed to disk, the store writes through its WAL)");
            Console.WriteLine($"plain file copy:                    {Measure.Median(copies),7:F0} MB/s");
            Console.WriteLine($"diced ingest into a local store:    {Measure.Median(ingests),7:F0} MB/s  ratio {Measure.Median(ratios):F2}x (includes opening the store)");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
