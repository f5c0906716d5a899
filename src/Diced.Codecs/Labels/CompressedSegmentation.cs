using System.Buffers.Binary;

namespace Diced.Codecs.Labels;

/// <summary>
/// Neuroglancer's <c>compressed_segmentation</c> encoding of a uint64 volume with 8³ blocks, one channel
/// (reference §10.8): per 8³ block a lookup table of its distinct labels (first-seen order) and b-bit indices
/// (b ∈ {0,1,2,4,8,16}) packed LSB-first into little-endian 32-bit words.
/// </summary>
public static class CompressedSegmentation
{
    private const int B = 8;

    /// <summary>Encoded bits for a block with <paramref name="n"/> distinct labels.</summary>
    public static int BitsFor(int n) => n switch { <= 1 => 0, 2 => 1, <= 4 => 2, <= 16 => 4, <= 256 => 8, _ => 16 };

    /// <summary>Encodes a volume of <paramref name="size"/> voxels (x fastest; each side a multiple of 8).</summary>
    public static byte[] Encode(ReadOnlySpan<ulong> labels, (int X, int Y, int Z) size)
    {
        if (size.X % B != 0 || size.Y % B != 0 || size.Z % B != 0)
            throw new ArgumentException($"compressed segmentation needs sizes that are multiples of 8, got {size.X}x{size.Y}x{size.Z}");
        if (labels.Length != (long)size.X * size.Y * size.Z) throw new ArgumentException("label count does not match the size");
        int gx = size.X / B, gy = size.Y / B, gz = size.Z / B, blocks = gx * gy * gz;
        // Words after the 1-word channel header: 2 header words per block, then each block's values and table.
        var headers = new uint[blocks * 2];
        Span<ulong> table = stackalloc ulong[512];
        Span<ushort> index = stackalloc ushort[512];
        var data = new List<uint>(blocks * 4);
        int block = 0;
        for (int bz = 0; bz < gz; bz++)
        for (int by = 0; by < gy; by++)
        for (int bx = 0; bx < gx; bx++, block++)
        {
            int n = 0, v = 0;
            ulong prev = 0;
            int prevIndex = -1;
            for (int z = 0; z < B; z++)
            for (int y = 0; y < B; y++)
            {
                var row = labels.Slice(((bz * B + z) * size.Y + by * B + y) * size.X + bx * B, B);
                for (int x = 0; x < B; x++, v++)
                {
                    ulong label = row[x];
                    if (label != prev || prevIndex < 0)
                    {
                        prevIndex = table[..n].IndexOf(label);
                        if (prevIndex < 0) { table[n] = label; prevIndex = n++; }
                        prev = label;
                    }
                    index[v] = (ushort)prevIndex;
                }
            }
            int bits = BitsFor(n);
            int valuesAt = blocks * 2 + data.Count;
            if (bits > 0)
            {
                int perWord = 32 / bits;
                for (int i = 0; i < 512; i += perWord)
                {
                    uint w = 0;
                    for (int j = 0; j < perWord; j++) w |= (uint)index[i + j] << (j * bits);
                    data.Add(w);
                }
            }
            int tableAt = blocks * 2 + data.Count;
            if (tableAt >= 1 << 24)
                throw new ArgumentException("the volume is too large for one compressed segmentation (table offsets are 24-bit); request smaller chunks");
            for (int i = 0; i < n; i++)
            {
                data.Add((uint)table[i]);
                data.Add((uint)(table[i] >> 32));
            }
            headers[2 * block] = (uint)tableAt | (uint)bits << 24;
            headers[2 * block + 1] = (uint)valuesAt;
        }
        var output = new byte[4 + 4 * (headers.Length + data.Count)];
        BinaryPrimitives.WriteUInt32LittleEndian(output, 1);
        int pos = 4;
        foreach (var h in headers) { BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(pos), h); pos += 4; }
        foreach (var d in data) { BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(pos), d); pos += 4; }
        return output;
    }

    /// <summary>Decodes an encoding of a volume of <paramref name="size"/> voxels (for tests and clients).</summary>
    public static ulong[] Decode(ReadOnlySpan<byte> encoded, (int X, int Y, int Z) size)
    {
        int gx = size.X / B, gy = size.Y / B, gz = size.Z / B;
        var result = new ulong[size.X * size.Y * size.Z];
        if (encoded.Length < 4) throw new InvalidDataException("compressed segmentation shorter than its channel header");
        var channel = encoded[(4 * (int)BinaryPrimitives.ReadUInt32LittleEndian(encoded))..];
        static uint Word(ReadOnlySpan<byte> channel, int i) => i >= 0 && 4L * i + 4 <= channel.Length
            ? BinaryPrimitives.ReadUInt32LittleEndian(channel[(4 * i)..])
            : throw new InvalidDataException($"compressed segmentation refers to word {i} beyond its end");
        int block = 0;
        for (int bz = 0; bz < gz; bz++)
        for (int by = 0; by < gy; by++)
        for (int bx = 0; bx < gx; bx++, block++)
        {
            uint h0 = Word(channel, 2 * block), valuesAt = Word(channel, 2 * block + 1);
            int tableAt = (int)(h0 & 0xFFFFFF), bits = (int)(h0 >> 24);
            int v = 0;
            for (int z = 0; z < B; z++)
            for (int y = 0; y < B; y++)
            for (int x = 0; x < B; x++, v++)
            {
                int i = 0;
                if (bits > 0)
                {
                    int bit = v * bits;
                    i = (int)((Word(channel, (int)valuesAt + bit / 32) >> (bit % 32)) & ((1u << bits) - 1));
                }
                ulong label = Word(channel, tableAt + 2 * i) | (ulong)Word(channel, tableAt + 2 * i + 1) << 32;
                result[((bz * B + z) * size.Y + by * B + y) * size.X + bx * B + x] = label;
            }
        }
        return result;
    }
}
