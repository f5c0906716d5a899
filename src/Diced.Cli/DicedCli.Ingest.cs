using System.Diagnostics;
using System.Globalization;
using Diced.Client;
using Diced.Codecs.Images;
using Diced.Server;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace Diced.Cli;

/// <summary><c>diced ingest</c>: raw volumes, slice directories and multi-page TIFFs into an array.</summary>
public static partial class DicedCli
{
    // ------------------------------------------------------------------ ingest

    /// <summary>A source of z slices: a raw file, a directory of PNG/TIFF images, or a multi-page TIFF.</summary>
    private interface ISliceSource
    {
        (int X, int Y, int Z) Size { get; }
        /// <summary>Fills <paramref name="dest"/> with slices [z0, z0 + count) packed x fastest.</summary>
        void Read(int z0, int count, Span<byte> dest);
    }

    private static async Task IngestAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (o.Positional.Count != 1) throw new UsageException("ingest needs one input: a raw file, a directory of slices or a TIFF stack");
        var input = o.Positional[0];
        var dtype = ParseDtype(o.Get("--dtype"));
        int bpe = dtype switch { ArrayDtype.Uint8 => 1, ArrayDtype.Uint16 => 2, ArrayDtype.Uint32 => 4, _ => 8 };
        ISliceSource source = Directory.Exists(input) ? ImageStack.FromDirectory(input, bpe)
            : input.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || input.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase) ? ImageStack.FromTiff(input, bpe)
            : new RawFile(input, o.Point("--size") ?? throw new UsageException("a raw input needs --size X,Y,Z"), bpe);
        var offset = o.Point("--offset") ?? (0, 0, 0);
        var array = await OpenArrayAsync(store, o, o.Flags.Contains("--create") ? dtype : null, ct);
        if (array.Dtype != dtype) throw new DicedException($"array \"{array.Name}\" holds {array.Dtype}; the input was given as {dtype}");
        var size = source.Size;
        // Slabs of whole blocks in z (the first one up to a block boundary), two in flight: one read while one is sent.
        int bz = array.BlockSize.Z;
        var cuts = new List<(int Z0, int Count)>();
        for (int z = 0; z < size.Z;)
        {
            int next = Math.Min(size.Z, z + bz - Mod(offset.Z + z, bz));
            cuts.Add((z, next - z));
            z = next;
        }
        // Merge block-high slabs into ~64 MiB groups.
        long perSlice = (long)size.X * size.Y * bpe;
        if (perSlice * bz > DicedArray.MaxRequestBytes * 8)
            throw new DicedException($"one block-high slab of {size.X}x{size.Y} is {perSlice * bz} bytes; ingest it in parts with --offset (at most {DicedArray.MaxRequestBytes * 8 / bz / bpe} voxels per slice)");
        var groups = new List<(int Z0, int Count)>();
        foreach (var c in cuts)
        {
            if (groups.Count > 0 && (groups[^1].Count + c.Count) * perSlice <= DicedArray.MaxRequestBytes && groups[^1].Z0 + groups[^1].Count == c.Z0)
                groups[^1] = (groups[^1].Z0, groups[^1].Count + c.Count);
            else groups.Add(c);
        }
        var progress = new Progress(stderr, perSlice * size.Z, "ingest");
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = ct }, async (g, token) =>
        {
            var buffer = GC.AllocateUninitializedArray<byte>(checked((int)(g.Count * perSlice)));
            source.Read(g.Z0, g.Count, buffer);
            await array.WriteRawAsync((offset.X, offset.Y, offset.Z + g.Z0), (size.X, size.Y, g.Count), buffer, token);
            progress.Add(buffer.Length);
        });
        progress.Done(stdout, $"{size.X}x{size.Y}x{size.Z} {dtype} into {array.Name} at version {array.Version}");
    }

    private static int Mod(int a, int b) => ((a % b) + b) % b;

    private sealed class RawFile : ISliceSource
    {
        private readonly string _path;
        private readonly int _bpe;

        public RawFile(string path, (int X, int Y, int Z) size, int bpe)
        {
            if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
            if (size.X <= 0 || size.Y <= 0 || size.Z <= 0) throw new UsageException($"--size {size.X},{size.Y},{size.Z} must be positive");
            long expected = (long)size.X * size.Y * size.Z * bpe;
            long actual = new FileInfo(path).Length;
            if (actual != expected)
                throw new DicedException($"{path} has {actual} bytes; {size.X}x{size.Y}x{size.Z} elements of {bpe} bytes need {expected}");
            (_path, Size, _bpe) = (path, size, bpe);
        }

        public (int X, int Y, int Z) Size { get; }

        public void Read(int z0, int count, Span<byte> dest)
        {
            using var handle = File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long at = (long)z0 * Size.X * Size.Y * _bpe;
            int read = 0;
            while (read < dest.Length)
            {
                int n = RandomAccess.Read(handle, dest[read..], at + read);
                if (n == 0) throw new IOException($"{_path} ended early");
                read += n;
            }
        }
    }

    /// <summary>Z slices from image files: PNG (through Skia) and uncompressed grayscale TIFF (8/16-bit, multi-page).</summary>
    private sealed class ImageStack : ISliceSource
    {
        private readonly List<Func<byte[]>> _slices;

        private ImageStack(List<Func<byte[]>> slices, int width, int height)
        {
            _slices = slices;
            Size = (width, height, slices.Count);
        }

        public (int X, int Y, int Z) Size { get; }

        public void Read(int z0, int count, Span<byte> dest)
        {
            int slice = dest.Length / count;
            for (int i = 0; i < count; i++)
            {
                var pixels = _slices[z0 + i]();
                if (pixels.Length != slice) throw new DicedException($"slice {z0 + i} has {pixels.Length} bytes; the first slice set {slice}");
                pixels.CopyTo(dest.Slice(i * slice, slice));
            }
        }

        public static ImageStack FromDirectory(string dir, int bpe)
        {
            var files = Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".tif", StringComparison.OrdinalIgnoreCase)
                || f.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new DicedException($"{dir} has no .png or .tif slices");
            var first = Load(files[0], bpe);
            var (w, h) = (first.Width, first.Height);
            return new ImageStack(files.Select<string, Func<byte[]>>(f => () =>
            {
                var img = Load(f, bpe);
                if (img.Width != w || img.Height != h) throw new DicedException($"{f} is {img.Width}x{img.Height}; the first slice is {w}x{h}");
                return img.Pixels;
            }).ToList(), w, h);
        }

        public static ImageStack FromTiff(string path, int bpe)
        {
            if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
            var pages = Tiff.Read(File.ReadAllBytes(path), bpe);
            if (pages.Count == 0) throw new DicedException($"{path} has no images");
            var (w, h) = (pages[0].Width, pages[0].Height);
            foreach (var p in pages)
                if (p.Width != w || p.Height != h) throw new DicedException($"{path}: pages differ in size ({p.Width}x{p.Height} vs {w}x{h})");
            return new ImageStack(pages.Select<(int Width, int Height, byte[] Pixels), Func<byte[]>>(p => () => p.Pixels).ToList(), w, h);
        }

        private static (int Width, int Height, byte[] Pixels) Load(string file, int bpe)
        {
            if (file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                if (bpe != 1) throw new DicedException($"{file}: PNG slices are read as 8-bit gray; use --dtype uint8 or 16-bit TIFF slices");
                using var bitmap = SKBitmap.Decode(file) ?? throw new DicedException($"{file} is not a readable PNG");
                using var gray = new SKBitmap(new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Gray8, SKAlphaType.Opaque));
                if (!bitmap.CopyTo(gray, SKColorType.Gray8)) throw new DicedException($"{file} cannot be converted to 8-bit gray");
                return (bitmap.Width, bitmap.Height, gray.Bytes);
            }
            var pages = Tiff.Read(File.ReadAllBytes(file), bpe);
            if (pages.Count != 1) throw new DicedException($"{file} has {pages.Count} pages; a slice directory needs single-page images");
            return pages[0];
        }
    }
}
