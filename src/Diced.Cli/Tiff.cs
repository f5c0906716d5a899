using System.Buffers.Binary;
using Diced.Client;

namespace Diced.Cli;

/// <summary>
/// Baseline TIFF pages as grayscale slices: uncompressed, one sample per pixel, 8 or 16 bits, strips, either byte
/// order, any number of pages (an image stack). Enough for the slice stacks microscopes and Fiji write.
/// </summary>
public static class Tiff
{
    public static List<(int Width, int Height, byte[] Pixels)> Read(byte[] file, int bytesPerPixel)
    {
        if (file.Length < 8) throw new DicedException("TIFF file is shorter than its header");
        bool little = file[0] == 'I' && file[1] == 'I';
        if (!little && !(file[0] == 'M' && file[1] == 'M')) throw new DicedException("not a TIFF file (no II/MM byte-order mark)");
        ushort U16(long at) => at + 2 <= file.Length ? (little ? BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan((int)at)) : BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan((int)at)))
            : throw new DicedException("TIFF is truncated");
        uint U32(long at) => at + 4 <= file.Length ? (little ? BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan((int)at)) : BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan((int)at)))
            : throw new DicedException("TIFF is truncated");
        if (U16(2) != 42) throw new DicedException("not a classic TIFF (BigTIFF is not supported)");
        var pages = new List<(int, int, byte[])>();
        var seen = new HashSet<uint>();
        for (uint ifd = U32(4); ifd != 0; )
        {
            if (!seen.Add(ifd) || pages.Count > 100_000) throw new DicedException("TIFF directory chain loops");
            int entries = U16(ifd);
            var tags = new Dictionary<int, uint[]>();
            for (int e = 0; e < entries; e++)
            {
                long at = ifd + 2 + 12L * e;
                int tag = U16(at), type = U16(at + 2);
                uint count = U32(at + 4);
                int size = type switch { 3 => 2, 4 => 4, _ => 0 };
                if (size == 0 || count > 1_000_000) continue; // only SHORT and LONG tags matter here
                long valueAt = size * count <= 4 ? at + 8 : U32(at + 8);
                tags[tag] = Enumerable.Range(0, (int)count).Select(i => size == 2 ? U16(valueAt + 2L * i) : U32(valueAt + 4L * i)).ToArray();
            }
            uint Tag(int t, uint? fallback = null) => tags.TryGetValue(t, out var v) && v.Length > 0 ? v[0]
                : fallback ?? throw new DicedException($"TIFF page {pages.Count} lacks tag {t}");
            uint w32 = Tag(256), h32 = Tag(257);
            if (w32 == 0 || h32 == 0 || (long)w32 * h32 * bytesPerPixel > Array.MaxLength)
                throw new DicedException($"TIFF page {pages.Count} is {w32}x{h32}: empty or too large");
            int width = (int)w32, height = (int)h32;
            int bits = (int)Tag(258, 1), compression = (int)Tag(259, 1), samples = (int)Tag(277, 1);
            if (compression != 1) throw new DicedException($"TIFF page {pages.Count} is compressed (scheme {compression}); only uncompressed TIFF is read");
            if (samples != 1) throw new DicedException($"TIFF page {pages.Count} has {samples} samples per pixel; only grayscale is read");
            if (bits != 8 * bytesPerPixel) throw new DicedException($"TIFF page {pages.Count} has {bits}-bit pixels; --dtype wants {8 * bytesPerPixel}");
            var offsets = tags.GetValueOrDefault(273) ?? throw new DicedException("TIFF page has no strips");
            var counts = tags.GetValueOrDefault(279) ?? throw new DicedException("TIFF page has no strip sizes");
            if (counts.Length != offsets.Length) throw new DicedException($"TIFF page {pages.Count} has {offsets.Length} strips but {counts.Length} strip sizes");
            long expected = (long)width * height * bytesPerPixel;
            var pixels = new byte[expected];
            long filled = 0;
            for (int s = 0; s < offsets.Length && filled < expected; s++)
            {
                long n = Math.Min(counts[s], expected - filled);
                if (offsets[s] + n > file.Length) throw new DicedException("TIFF strip runs past the end of the file");
                file.AsSpan((int)offsets[s], (int)n).CopyTo(pixels.AsSpan((int)filled));
                filled += n;
            }
            if (filled != expected) throw new DicedException($"TIFF page {pages.Count} has {filled} bytes of pixels; {width}x{height} needs {expected}");
            if (!little && bytesPerPixel == 2)
                for (int i = 0; i < pixels.Length; i += 2) (pixels[i], pixels[i + 1]) = (pixels[i + 1], pixels[i]);
            pages.Add((width, height, pixels));
            ifd = U32(ifd + 2 + 12L * entries);
        }
        return pages;
    }

    /// <summary>Writes uncompressed little-endian grayscale pages (one strip each): tests, and exports to TIFF tools.</summary>
    public static byte[] Write(IReadOnlyList<(int Width, int Height, byte[] Pixels)> pages, int bytesPerPixel)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("II"u8);
        w.Write((ushort)42);
        w.Write(8u);
        for (int p = 0; p < pages.Count; p++)
        {
            var (width, height, pixels) = pages[p];
            long ifd = ms.Position;
            const int entries = 8;
            long dataAt = ifd + 2 + 12 * entries + 4;
            w.Write((ushort)entries);
            void Entry(ushort tag, ushort type, uint value) { w.Write(tag); w.Write(type); w.Write(1u); w.Write(value); }
            Entry(256, 4, (uint)width);
            Entry(257, 4, (uint)height);
            Entry(258, 3, (uint)(8 * bytesPerPixel));
            Entry(259, 3, 1);
            Entry(262, 3, 1);
            Entry(273, 4, (uint)dataAt);
            Entry(277, 3, 1);
            Entry(279, 4, (uint)pixels.Length);
            w.Write(p + 1 < pages.Count ? (uint)(dataAt + pixels.Length) : 0u);
            w.Write(pixels);
        }
        w.Flush();
        return ms.ToArray();
    }
}
