using System.Buffers.Binary;
using System.Numerics;

namespace Diced.Codecs.Images;

/// <summary>
/// DVID's label colours (<c>pseudocolor</c>): the MurmurHash3 (x86, 32-bit, seed 0) of the label's 8 little-endian bytes,
/// written big-endian into red, green, blue; alpha 255. Label 0 gets a colour too, as in DVID.
/// </summary>
public static class Pseudocolor
{
    /// <summary>MurmurHash3 x86_32 of <paramref name="data"/>.</summary>
    public static uint Murmur3(ReadOnlySpan<byte> data, uint seed = 0)
    {
        const uint c1 = 0xcc9e2d51, c2 = 0x1b873593;
        uint h = seed;
        int blocks = data.Length / 4;
        for (int i = 0; i < blocks; i++)
        {
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(data[(4 * i)..]);
            k *= c1;
            k = BitOperations.RotateLeft(k, 15);
            k *= c2;
            h ^= k;
            h = BitOperations.RotateLeft(h, 13);
            h = h * 5 + 0xe6546b64;
        }
        uint t = 0;
        var tail = data[(4 * blocks)..];
        switch (tail.Length)
        {
            case 3: t ^= (uint)tail[2] << 16; goto case 2;
            case 2: t ^= (uint)tail[1] << 8; goto case 1;
            case 1:
                t ^= tail[0];
                t *= c1;
                t = BitOperations.RotateLeft(t, 15);
                t *= c2;
                h ^= t;
                break;
        }
        h ^= (uint)data.Length;
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }

    /// <summary>The RGBA colour of <paramref name="label"/>.</summary>
    public static (byte R, byte G, byte B, byte A) Of(ulong label)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, label);
        uint h = Murmur3(bytes);
        return ((byte)(h >> 24), (byte)(h >> 16), (byte)(h >> 8), 255);
    }

    /// <summary>Colours labels into RGBA8 pixels (4 bytes each), looking each run of equal labels up once.</summary>
    public static byte[] Colorize(ReadOnlySpan<ulong> labels)
    {
        var rgba = new byte[labels.Length * 4];
        ulong last = 0;
        var c = Of(0);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] != last || i == 0) c = Of(last = labels[i]);
            rgba[4 * i] = c.R;
            rgba[4 * i + 1] = c.G;
            rgba[4 * i + 2] = c.B;
            rgba[4 * i + 3] = c.A;
        }
        return rgba;
    }
}
