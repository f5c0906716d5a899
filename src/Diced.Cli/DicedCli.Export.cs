using System.Diagnostics;
using System.Globalization;
using Diced.Client;
using Diced.Codecs.Images;
using Diced.Server;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace Diced.Cli;

/// <summary><c>diced export</c> (raw bytes or PNG slices), and the progress line long commands show.</summary>
public static partial class DicedCli
{
    // ------------------------------------------------------------------ export

    private static async Task ExportAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var array = await OpenArrayAsync(store, o, null, ct);
        var size = o.Point("--size") ?? throw new UsageException("export needs --size X,Y,Z");
        var offset = o.Point("--offset") ?? (0, 0, 0);
        var output = o.Required("--out");
        var format = o.Get("--format") ?? (output.EndsWith(".raw", StringComparison.OrdinalIgnoreCase) ? "raw" : "png");
        if (format is not ("raw" or "png")) throw new UsageException($"--format must be raw or png, not \"{format}\"");
        if (format == "png" && array.Dtype is not (ArrayDtype.Uint8 or ArrayDtype.Uint16)) throw new DicedException($"PNG slices hold uint8 or uint16; \"{array.Name}\" holds {array.Dtype}; use --format raw");
        if (size.X <= 0 || size.Y <= 0 || size.Z <= 0) throw new UsageException($"--size {size.X},{size.Y},{size.Z} must be positive");
        long perSlice = (long)size.X * size.Y * array.BytesPerElement;
        int slicesPerRead = (int)Math.Max(1, Math.Min(size.Z, DicedArray.MaxRequestBytes / perSlice));
        var progress = new Progress(stderr, perSlice * size.Z, "export");
        if (format == "png") Directory.CreateDirectory(output);
        await using var raw = format == "raw" ? new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true) : null;
        for (int z = 0; z < size.Z; z += slicesPerRead)
        {
            int n = Math.Min(slicesPerRead, size.Z - z);
            var data = await array.ReadRawAsync((offset.X, offset.Y, offset.Z + z), (size.X, size.Y, n), ct);
            if (raw is not null) await raw.WriteAsync(data, ct);
            else
                for (int i = 0; i < n; i++)
                {
                    var png = PngEncoder.Encode(size.X, size.Y, array.Dtype == ArrayDtype.Uint8 ? PngPixels.Gray8 : PngPixels.Gray16, data.AsSpan((int)(i * perSlice), (int)perSlice));
                    await File.WriteAllBytesAsync(Path.Combine(output, $"z{offset.Z + z + i:D6}.png"), png, ct);
                }
            progress.Add(data.Length);
        }
        progress.Done(stdout, $"{size.X}x{size.Y}x{size.Z} of {array.Name} to {output}");
    }

    // ------------------------------------------------------------------ downres

    private static async Task DownresAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var text = o.Required("--levels");
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var levels) || levels is < 1 or > 10)
            throw new UsageException($"--levels must be 1 to 10, not \"{text}\"");
        var array = await OpenArrayAsync(store, o, null, ct);
        Progress? progress = null;
        long built = await array.BuildPyramidAsync(levels, (done, total) =>
        {
            progress ??= new Progress(stderr, total, "downres", unit: "blocks");
            progress.Set(done);
        }, ct);
        progress ??= new Progress(stderr, 0, "downres", unit: "blocks");
        progress.Done(stdout, $"levels 1 to {levels} of {array.Name} ({built} blocks)");
    }

    // ------------------------------------------------------------------ progress

    /// <summary>A progress bar with throughput on stderr, redrawn at most 10 times a second; a summary line at the end.
    /// Counts bytes (shown as MB) unless a <paramref name="unit"/> is named.</summary>
    private sealed class Progress(TextWriter stderr, long total, string what, string? unit = null)
    {
        private readonly double _scale = unit is null ? 1e6 : 1;
        private readonly string _unit = unit ?? "MB";

        /// <summary>Sets how much is done so far (for work that reports totals rather than increments).</summary>
        public void Set(long done) => Add(done - Interlocked.Read(ref _done));

        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _done, _lastDraw;

        public void Add(long bytes)
        {
            long done = Interlocked.Add(ref _done, bytes);
            long now = _clock.ElapsedMilliseconds;
            if (now - Interlocked.Read(ref _lastDraw) < 100 && (total <= 0 || done < total)) return;
            Interlocked.Exchange(ref _lastDraw, now);
            int width = 30, filled = total == 0 ? width : (int)(width * done / total);
            double rate = done / _scale / Math.Max(1e-3, _clock.Elapsed.TotalSeconds);
            lock (stderr)
            {
                if (total <= 0) stderr.Write($"\r{what} {done / _scale,9:F1} {_unit}  {rate,7:F1} {_unit}/s"); // size not known ahead
                else
                {
                    var eta = rate > 0 ? TimeSpan.FromSeconds((total - done) / _scale / rate) : TimeSpan.Zero;
                    stderr.Write($"\r{what} [{new string('#', filled)}{new string(' ', width - filled)}] {100.0 * done / total,5:F1}%  {rate,7:F1} {_unit}/s  ETA {eta:mm\\:ss}");
                }
            }
        }

        public void Done(TextWriter stdout, string summary)
        {
            lock (stderr) stderr.WriteLine();
            double rate = _done / _scale / Math.Max(1e-6, _clock.Elapsed.TotalSeconds);
            stdout.WriteLine(unit is null
                ? $"{what}: {summary}: {_done / 1e6:F1} MB in {_clock.Elapsed.TotalSeconds:F2} s, {rate:F1} MB/s"
                : $"{what}: {summary} in {_clock.Elapsed.TotalSeconds:F2} s, {rate:F1} {_unit}/s");
        }
    }
}
