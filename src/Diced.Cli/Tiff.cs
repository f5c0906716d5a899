using BitMiracle.LibTiff.Classic;
using Diced.Client;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;

namespace Diced.Cli;

/// <summary>
/// Grayscale TIFF pages through LibTiff.NET, the .NET port of libtiff: one sample per pixel, 8 to 64 bits, unsigned,
/// strips or tiles, any compression libtiff decodes (LZW, Deflate, PackBits, …), either byte order, BigTIFF, any number
/// of pages. Pages are read one at a time, so a stack larger than memory can be ingested.
/// </summary>
public sealed class Tiff : IDisposable
{
    private readonly LibTiff _tif;
    private readonly string _name;
    private readonly object _reading = new();

    private Tiff(LibTiff tif, string name) => (_tif, _name) = (tif, name);

    // libtiff reports problems on stderr by default; Diced reports them as one error line instead (set once: it is global).
    static Tiff() => LibTiff.SetErrorHandler(new QuietErrors());

    public int Pages { get; private init; }
    public int Width { get; private init; }
    public int Height { get; private init; }

    /// <summary>Opens a TIFF and checks its first page (size of the stack, pixel format).</summary>
    public static Tiff Open(string path, int bytesPerPixel)
    {
        var tif = LibTiff.Open(path, "r") ?? throw new DicedException($"{path} is not a readable TIFF file");
        try
        {
            int pages = tif.NumberOfDirectories();
            if (pages == 0) throw new DicedException($"{path} has no images");
            var (w, h) = CheckPage(tif, path, 0, bytesPerPixel);
            return new Tiff(tif, path) { Pages = pages, Width = w, Height = h };
        }
        catch
        {
            tif.Dispose();
            throw;
        }
    }

    /// <summary>Page <paramref name="page"/>'s pixels, rows top to bottom, x fastest, little-endian.</summary>
    public byte[] ReadPage(int page, int bytesPerPixel)
    {
        lock (_reading)
        {
            var (w, h) = CheckPage(_tif, _name, page, bytesPerPixel);
            if (w != Width || h != Height) throw new DicedException($"{_name}: page {page} is {w}x{h}; the first page is {Width}x{Height}");
            var pixels = new byte[checked(w * h * bytesPerPixel)];
            int row = w * bytesPerPixel;
            if (_tif.IsTiled())
            {
                int tw = Required(_tif, _name, page, TiffTag.TILEWIDTH), th = Required(_tif, _name, page, TiffTag.TILELENGTH);
                var tile = new byte[_tif.TileSize()];
                for (int y = 0; y < h; y += th)
                    for (int x = 0; x < w; x += tw)
                    {
                        if (_tif.ReadTile(tile, 0, x, y, 0, 0) < 0) throw Corrupt(_name, page);
                        int cols = Math.Min(tw, w - x) * bytesPerPixel;
                        for (int r = 0; r < th && y + r < h; r++)
                            Array.Copy(tile, r * tw * bytesPerPixel, pixels, (y + r) * row + x * bytesPerPixel, cols);
                    }
            }
            else
            {
                int rowsPerStrip = Math.Min(h, _tif.GetField(TiffTag.ROWSPERSTRIP)?[0].ToInt() ?? h);
                var strip = new byte[_tif.StripSize()];
                for (int s = 0, y = 0; y < h; s++, y += rowsPerStrip)
                {
                    int n = _tif.ReadEncodedStrip(s, strip, 0, -1);
                    int rows = Math.Min(rowsPerStrip, h - y);
                    if (n < rows * row) throw Corrupt(_name, page);
                    Array.Copy(strip, 0, pixels, y * row, rows * row);
                }
            }
            return pixels;
        }
    }

    private static (int Width, int Height) CheckPage(LibTiff tif, string name, int page, int bytesPerPixel)
    {
        if (!tif.SetDirectory((short)page)) throw Corrupt(name, page);
        int w = Required(tif, name, page, TiffTag.IMAGEWIDTH), h = Required(tif, name, page, TiffTag.IMAGELENGTH);
        int bits = tif.GetField(TiffTag.BITSPERSAMPLE)?[0].ToInt() ?? 1;
        int samples = tif.GetField(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1;
        var format = tif.GetField(TiffTag.SAMPLEFORMAT)?[0].ToInt() ?? (int)SampleFormat.UINT;
        if (samples != 1) throw new DicedException($"{name}: page {page} has {samples} samples per pixel; ingest reads grayscale TIFFs");
        if (format is not ((int)SampleFormat.UINT or (int)SampleFormat.INT)) throw new DicedException($"{name}: page {page} holds floating-point samples; Diced arrays hold unsigned integers");
        if (bits != 8 * bytesPerPixel) throw new DicedException($"{name}: page {page} has {bits}-bit pixels; the ingest was given --dtype of {8 * bytesPerPixel} bits");
        if (w <= 0 || h <= 0) throw Corrupt(name, page);
        return (w, h);
    }

    private static int Required(LibTiff tif, string name, int page, TiffTag tag)
        => tif.GetField(tag)?[0].ToInt() ?? throw new DicedException($"{name}: page {page} has no {tag}");

    private static DicedException Corrupt(string name, int page) => new($"{name}: page {page} cannot be read (truncated or corrupt TIFF)");

    public void Dispose() => _tif.Dispose();

    /// <summary>Writes grayscale pages, little-endian: uncompressed strips, or LZW-compressed tiles of <paramref name="tile"/>
    /// pixels (tests, and exports to TIFF tools).</summary>
    public static void Write(string path, IReadOnlyList<(int Width, int Height, byte[] Pixels)> pages, int bytesPerPixel, int tile = 0)
    {
        using var tif = LibTiff.Open(path, "w") ?? throw new IOException($"cannot create {path}");
        foreach (var (width, height, pixels) in pages)
        {
            tif.SetField(TiffTag.IMAGEWIDTH, width);
            tif.SetField(TiffTag.IMAGELENGTH, height);
            tif.SetField(TiffTag.BITSPERSAMPLE, 8 * bytesPerPixel);
            tif.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tif.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tif.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tif.SetField(TiffTag.SUBFILETYPE, FileType.PAGE);
            int row = width * bytesPerPixel;
            if (tile > 0)
            {
                tif.SetField(TiffTag.COMPRESSION, Compression.LZW);
                tif.SetField(TiffTag.TILEWIDTH, tile);
                tif.SetField(TiffTag.TILELENGTH, tile);
                var buffer = new byte[tile * tile * bytesPerPixel];
                for (int y = 0; y < height; y += tile)
                    for (int x = 0; x < width; x += tile)
                    {
                        Array.Clear(buffer);
                        for (int r = 0; r < tile && y + r < height; r++)
                            Array.Copy(pixels, (y + r) * row + x * bytesPerPixel, buffer, r * tile * bytesPerPixel, Math.Min(tile, width - x) * bytesPerPixel);
                        tif.WriteTile(buffer, x, y, 0, 0);
                    }
            }
            else
            {
                tif.SetField(TiffTag.COMPRESSION, Compression.NONE);
                tif.SetField(TiffTag.ROWSPERSTRIP, height);
                tif.WriteEncodedStrip(0, pixels, pixels.Length);
            }
            tif.WriteDirectory();
        }
    }

    /// <summary>Swallows libtiff's messages (failures surface as return values, reported as one line).</summary>
    private sealed class QuietErrors : TiffErrorHandler
    {
        public override void ErrorHandler(LibTiff tif, string method, string format, params object[] args) { }
        public override void ErrorHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args) { }
        public override void WarningHandler(LibTiff tif, string method, string format, params object[] args) { }
        public override void WarningHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args) { }
    }
}
