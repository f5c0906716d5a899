using System.Buffers.Binary;
using System.IO.Compression;

namespace Diced.Codecs.Images;

/// <summary>Pixel layouts DVID writes as images (§7.4).</summary>
public enum PngPixels
{
    /// <summary>8-bit grayscale (uint8 voxels).</summary>
    Gray8,
    /// <summary>16-bit grayscale; input is little-endian uint16 (uint16 voxels).</summary>
    Gray16,
    /// <summary>8-bit RGBA whose channels are a voxel's 4 raw bytes (uint32, float32, rgba8 voxels).</summary>
    Rgba8,
    /// <summary>16-bit RGBA whose sample bytes are a voxel's 8 bytes as stored (uint64 voxels and labels: DVID writes
    /// them unchanged, so each 16-bit sample reads as the big-endian word of two little-endian bytes).</summary>
    Rgba16,
}

/// <summary>A small PNG encoder for the pixel layouts above (filter "up", fast deflate).</summary>
public static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static int BytesPerPixel(PngPixels p) => p switch { PngPixels.Gray8 => 1, PngPixels.Gray16 => 2, PngPixels.Rgba8 => 4, _ => 8 };

    /// <summary>Encodes <paramref name="pixels"/> (rows top to bottom, voxel byte order) as a PNG file.</summary>
    public static byte[] Encode(int width, int height, PngPixels layout, ReadOnlySpan<byte> pixels)
    {
        int bpp = BytesPerPixel(layout);
        int stride = width * bpp;
        if (width <= 0 || height <= 0 || pixels.Length != (long)stride * height)
            throw new ArgumentException($"PNG of {width}x{height} needs {(long)stride * height} pixel bytes, got {pixels.Length}");
        using var output = new MemoryStream(pixels.Length / 2 + 1024);
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = (byte)(layout is PngPixels.Gray16 or PngPixels.Rgba16 ? 16 : 8);
        ihdr[9] = (byte)(layout is PngPixels.Gray8 or PngPixels.Gray16 ? 0 : 6); // grayscale or RGBA
        WriteChunk(output, "IHDR"u8, ihdr);

        using var idat = new MemoryStream(pixels.Length / 2 + 1024);
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + stride];
            var prev = new byte[stride];
            var cur = new byte[stride];
            for (int y = 0; y < height; y++)
            {
                ToPngOrder(pixels.Slice(y * stride, stride), cur, layout);
                row[0] = 2; // filter "up": good for smooth images, cheap to compute
                for (int i = 0; i < stride; i++) row[1 + i] = (byte)(cur[i] - prev[i]);
                z.Write(row);
                (prev, cur) = (cur, prev);
            }
        }
        WriteChunk(output, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    private static void ToPngOrder(ReadOnlySpan<byte> src, Span<byte> dst, PngPixels layout)
    {
        if (layout is not PngPixels.Gray16)
        {
            src.CopyTo(dst);
            return;
        }
        for (int i = 0; i < src.Length; i += 2) // uint16 voxels become big-endian 16-bit PNG samples
        {
            dst[i] = src[i + 1];
            dst[i + 1] = src[i];
        }
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        s.Write(type);
        s.Write(data);
        var crcInput = new byte[type.Length + data.Length];
        type.CopyTo(crcInput);
        data.CopyTo(crcInput.AsSpan(type.Length));
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32.Compute(crcInput));
        s.Write(len);
    }
}
