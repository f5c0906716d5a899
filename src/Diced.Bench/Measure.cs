using System.Diagnostics;

namespace Diced.Bench;

/// <summary>Timing helpers: alternate the measured case and its baseline in rounds, report medians.</summary>
public static class Measure
{
    /// <summary>Seconds per operation of <paramref name="op"/>, run <paramref name="count"/> times.</summary>
    public static async Task<double> SecondsPerOpAsync(int count, Func<Task> op)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) await op();
        return sw.Elapsed.TotalSeconds / count;
    }

    /// <summary>The seconds each of <paramref name="times"/> runs of <paramref name="op"/> took.</summary>
    public static async Task<List<double>> RepeatAsync(int times, Func<Task> op)
    {
        var list = new List<double>();
        for (int i = 0; i < times; i++)
        {
            var sw = Stopwatch.StartNew();
            await op();
            list.Add(sw.Elapsed.TotalSeconds);
        }
        return list;
    }

    public static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    /// <summary>
    /// Runs baseline and candidate back to back in each of <paramref name="rounds"/> rounds and returns the median
    /// baseline, the median candidate and the median of the per-round ratios candidate/baseline (robust to drift).
    /// </summary>
    public static async Task<(double Baseline, double Candidate, double Ratio)> RatioAsync(int rounds, Func<Task<double>> baseline, Func<Task<double>> candidate)
    {
        var b = new List<double>();
        var c = new List<double>();
        var r = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            b.Add(await baseline());
            c.Add(await candidate());
            r.Add(c[^1] / b[^1]);
        }
        return (Median(b), Median(c), Median(r));
    }

    public static void Progress(string text) => Console.Error.Write($"\r{text,-70}");

    public static void EndProgress() => Console.Error.Write($"\r{"",-70}\r");
}
