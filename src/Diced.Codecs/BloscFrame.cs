using System.Buffers.Binary;
using System.IO.Compression;

namespace Diced.Codecs;

/// <summary>
/// Decodes Blosc 1 frames, the default compressor of zarr v2 (numcodecs' <c>Blosc</c>): a 16-byte header, block start
/// offsets, and each block as one or <c>typesize</c> compressed splits, byte-shuffled or not. Inner codecs: LZ4 (and
/// LZ4HC), zlib and Zstandard, through the same libraries as Diced's own codecs; BloscLZ, Snappy and bit-shuffle are
/// refused with a clear message (no maintained .NET implementation; numcodecs' default is LZ4 with byte shuffle).
/// </summary>
public static class BloscFrame
{
    private const int HeaderBytes = 16, MaxSplits = 16, MinBufferSize = 128;
    private const byte DoShuffle = 0x1, MemCopied = 0x2, DoBitShuffle = 0x4, DontSplit = 0x10;

    /// <summary>Whether <paramref name="frame"/> starts like a Blosc 1 frame of a plausible size.</summary>
    public static bool LooksLikeBlosc(ReadOnlySpan<byte> frame)
        => frame.Length >= HeaderBytes && frame[0] is >= 1 and <= 4 && BinaryPrimitives.ReadInt32LittleEndian(frame[12..]) == frame.Length;

    /// <exception cref="InvalidDataException">Not a Blosc frame, corrupt, or made with a codec not supported here.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < HeaderBytes) throw new InvalidDataException($"a Blosc frame needs {HeaderBytes} header bytes, got {frame.Length}");
        byte flags = frame[2];
        int typesize = frame[3];
        int nbytes = BinaryPrimitives.ReadInt32LittleEndian(frame[4..]);
        int blocksize = BinaryPrimitives.ReadInt32LittleEndian(frame[8..]);
        int cbytes = BinaryPrimitives.ReadInt32LittleEndian(frame[12..]);
        if (cbytes != frame.Length || nbytes < 0 || (nbytes > 0 && blocksize <= 0) || typesize == 0)
            throw new InvalidDataException($"not a Blosc frame (header says {cbytes} bytes of {nbytes} with blocks of {blocksize}; the frame has {frame.Length})");
        var output = GC.AllocateUninitializedArray<byte>(nbytes);
        if ((flags & MemCopied) != 0)
        {
            if (frame.Length < HeaderBytes + nbytes) throw new InvalidDataException("Blosc frame is shorter than its copied data");
            frame.Slice(HeaderBytes, nbytes).CopyTo(output);
            return output;
        }
        if ((flags & DoBitShuffle) != 0 && typesize > 1) throw new InvalidDataException("Blosc bit-shuffle is not supported; write the zarr array with shuffle=Blosc.SHUFFLE or NOSHUFFLE");
        int codec = flags >> 5;
        int nblocks = nbytes == 0 ? 0 : (nbytes + blocksize - 1) / blocksize;
        if (frame.Length < HeaderBytes + 4 * nblocks) throw new InvalidDataException("Blosc frame is shorter than its block table");
        var temp = new byte[blocksize];
        for (int b = 0; b < nblocks; b++)
        {
            int start = BinaryPrimitives.ReadInt32LittleEndian(frame[(HeaderBytes + 4 * b)..]);
            bool leftover = b == nblocks - 1 && nbytes % blocksize != 0;
            int bsize = leftover ? nbytes % blocksize : blocksize;
            bool shuffled = (flags & DoShuffle) != 0 && typesize > 1;
            var dest = output.AsSpan(b * blocksize, bsize);
            DecodeBlock(frame, start, bsize, leftover, typesize, flags, codec, shuffled ? temp.AsSpan(0, bsize) : dest);
            if (shuffled) Unshuffle(temp.AsSpan(0, bsize), dest, typesize);
        }
        return output;
    }

    private static void DecodeBlock(ReadOnlySpan<byte> frame, int offset, int bsize, bool leftover, int typesize, byte flags, int codec, Span<byte> dest)
    {
        int nsplits = (flags & DontSplit) == 0 && typesize <= MaxSplits && bsize / typesize >= MinBufferSize && !leftover ? typesize : 1;
        int neblock = bsize / nsplits;
        for (int j = 0; j < nsplits; j++)
        {
            if (offset < 0 || offset > frame.Length - 4) throw new InvalidDataException("Blosc block points outside the frame");
            int csize = BinaryPrimitives.ReadInt32LittleEndian(frame[offset..]);
            offset += 4;
            if (csize < 0 || csize > frame.Length - offset) throw new InvalidDataException("Blosc split is larger than the frame");
            var src = frame.Slice(offset, csize);
            var part = dest.Slice(j * neblock, neblock);
            if (csize == neblock) src.CopyTo(part);
            else Inflate(codec, src, part);
            offset += csize;
        }
    }

    private static void Inflate(int codec, ReadOnlySpan<byte> src, Span<byte> dest)
    {
        switch (codec)
        {
            case 1: // LZ4 and LZ4HC: raw LZ4 blocks
                Lz4Block.Decode(src, dest);
                return;
            case 3: // zlib streams
            {
                using var z = new ZLibStream(new MemoryStream(src.ToArray()), CompressionMode.Decompress);
                int read = 0, n;
                while (read < dest.Length && (n = z.Read(dest[read..])) > 0) read += n;
                if (read != dest.Length) throw new InvalidDataException($"Blosc zlib split inflated to {read} bytes, expected {dest.Length}");
                return;
            }
            case 4: // Zstandard frames
            {
                var data = ZstdCodec.Decompress(src);
                if (data.Length != dest.Length) throw new InvalidDataException($"Blosc zstd split decoded to {data.Length} bytes, expected {dest.Length}");
                data.CopyTo(dest);
                return;
            }
            default:
                throw new InvalidDataException($"Blosc codec {(codec switch { 0 => "blosclz", 2 => "snappy", _ => codec.ToString() })} is not supported; write the zarr array with Blosc(cname='lz4'), 'zstd' or 'zlib'");
        }
    }

    /// <summary>Undoes Blosc's byte shuffle: byte j of every element was stored together, then byte j + 1.</summary>
    private static void Unshuffle(ReadOnlySpan<byte> src, Span<byte> dest, int typesize)
    {
        int elements = src.Length / typesize;
        for (int j = 0; j < typesize; j++)
        {
            var lane = src.Slice(j * elements, elements);
            for (int i = 0; i < elements; i++) dest[i * typesize + j] = lane[i];
        }
        int rest = src.Length - elements * typesize;
        src[^rest..].CopyTo(dest[^rest..]);
    }
}
