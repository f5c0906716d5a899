using Diced.Client;
using SkiaSharp;

namespace Diced.Cli;

/// <summary>A source of z slices for <c>diced ingest</c>: a raw file, a directory of PNG/TIFF images, or a multi-page TIFF.</summary>
internal interface ISliceSource
{
    (int X, int Y, int Z) Size { get; }

    /// <summary>Fills <paramref name="dest"/> with the box at <paramref name="at"/> of <paramref name="size"/>, packed x fastest.
    /// Safe to call from several threads at once.</summary>
    void Read((int X, int Y, int Z) at, (int X, int Y, int Z) size, Span<byte> dest);
}

/// <summary>A raw file of packed voxels, x fastest; boxes are read row by row (whole slices at once when they span x and y).</summary>
internal sealed class RawFile : ISliceSource
{
    private readonly string _path;
    private readonly int _bpe;

    public RawFile(string path, (int X, int Y, int Z) size, int bpe)
    {
        if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
        if (size.X <= 0 || size.Y <= 0 || size.Z <= 0) throw new DicedCli.UsageException($"--size {size.X},{size.Y},{size.Z} must be positive");
        long expected = (long)size.X * size.Y * size.Z * bpe;
        long actual = new FileInfo(path).Length;
        if (actual != expected)
            throw new DicedException($"{path} has {actual} bytes; {size.X}x{size.Y}x{size.Z} elements of {bpe} bytes need {expected}");
        (_path, Size, _bpe) = (path, size, bpe);
    }

    public (int X, int Y, int Z) Size { get; }

    public void Read((int X, int Y, int Z) at, (int X, int Y, int Z) size, Span<byte> dest)
    {
        using var handle = File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long rowBytes = (long)Size.X * _bpe, sliceBytes = rowBytes * Size.Y;
        int outRow = size.X * _bpe;
        if (size.X == Size.X) // whole rows: one read per slice
        {
            int slab = outRow * size.Y;
            for (int z = 0; z < size.Z; z++)
                ReadAt(handle, dest.Slice(z * slab, slab), (at.Z + z) * sliceBytes + at.Y * rowBytes);
            return;
        }
        for (int z = 0, i = 0; z < size.Z; z++)
            for (int y = 0; y < size.Y; y++, i++)
                ReadAt(handle, dest.Slice(i * outRow, outRow), (at.Z + z) * sliceBytes + (at.Y + y) * rowBytes + (long)at.X * _bpe);
    }

    private void ReadAt(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> dest, long at)
    {
        for (int read = 0; read < dest.Length;)
        {
            int n = RandomAccess.Read(handle, dest[read..], at + read);
            if (n == 0) throw new IOException($"{_path} ended early");
            read += n;
        }
    }
}

/// <summary>Z slices from image files: PNG (through Skia) and grayscale TIFF (LibTiff.NET: strips or tiles, compressed
/// or not, one page per slice or a multi-page stack read a page at a time).
/// Decoded slices are kept while the requests of their layer are read: up to <see cref="KeptBytes"/> of them (two layers
/// of 1024² slices; slices of 8k² are decoded again for each request of their layer, but memory stays bounded).</summary>
internal sealed class ImageStack : ISliceSource, IDisposable
{
    private readonly List<Func<byte[]>> _slices;
    private readonly Dictionary<int, byte[]> _decoded = new();
    private readonly Queue<int> _order = new();
    private const long KeptBytes = 128L << 20;
    private readonly int _keptSlices;

    private ImageStack(List<Func<byte[]>> slices, int width, int height, int bpe)
    {
        _slices = slices;
        Size = (width, height, slices.Count);
        BytesPerVoxel = bpe;
        _keptSlices = SlicesKept(width, height, bpe);
    }

    public (int X, int Y, int Z) Size { get; }

    private int BytesPerVoxel { get; }

    /// <summary>How many decoded slices of this size are kept: <see cref="KeptBytes"/> of them, at least one, at most 256.</summary>
    internal static int SlicesKept(int width, int height, int bpe) => (int)Math.Clamp(KeptBytes / ((long)width * height * bpe), 1, 256);

    public void Read((int X, int Y, int Z) at, (int X, int Y, int Z) size, Span<byte> dest)
    {
        int bpe = BytesPerVoxel, outRow = size.X * bpe, sliceBytes = Size.X * Size.Y * bpe;
        for (int z = 0, i = 0; z < size.Z; z++)
        {
            var pixels = Slice(at.Z + z);
            if (pixels.Length != sliceBytes) throw new DicedException($"slice {at.Z + z} has {pixels.Length} bytes; the first slice set {sliceBytes}");
            for (int y = 0; y < size.Y; y++, i++)
                pixels.AsSpan(((at.Y + y) * Size.X + at.X) * bpe, outRow).CopyTo(dest.Slice(i * outRow, outRow));
        }
    }

    private byte[] Slice(int z)
    {
        lock (_decoded)
            if (_decoded.TryGetValue(z, out var kept)) return kept;
        var pixels = _slices[z]();
        lock (_decoded)
        {
            if (_decoded.TryAdd(z, pixels)) _order.Enqueue(z);
            while (_order.Count > _keptSlices) _decoded.Remove(_order.Dequeue());
        }
        return pixels;
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
        }).ToList(), w, h, bpe);
    }

    public static ImageStack FromTiff(string path, int bpe)
    {
        if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
        var tiff = Tiff.Open(path, bpe);
        return new ImageStack(Enumerable.Range(0, tiff.Pages).Select<int, Func<byte[]>>(p => () => tiff.ReadPage(p, bpe)).ToList(), tiff.Width, tiff.Height, bpe)
        {
            _owned = tiff,
        };
    }

    /// <summary>What the stack reads from (a multi-page TIFF), closed with it.</summary>
    private IDisposable? _owned;

    public void Dispose() => _owned?.Dispose();

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
        using var tiff = Tiff.Open(file, bpe);
        if (tiff.Pages != 1) throw new DicedException($"{file} has {tiff.Pages} pages; a slice directory needs single-page images");
        return (tiff.Width, tiff.Height, tiff.ReadPage(0, bpe));
    }
}
