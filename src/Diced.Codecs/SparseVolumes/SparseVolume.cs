using System.Buffers.Binary;

namespace Diced.Codecs.SparseVolumes;

/// <summary>A run of <see cref="Length"/> voxels from (X, Y, Z) along +x (sparse volumes).</summary>
public readonly record struct Run(int X, int Y, int Z, int Length);

/// <summary>
/// DVID's sparse-volume formats in one place: the legacy RLE (§10.6: a 12-byte header, then x, y, z, length runs,
/// little-endian int32), its header-less "srles" form, and the <c>format=blocks</c> masks.
/// </summary>
public static class SparseVolume
{
    /// <summary>Encodes runs as RLE: header (descriptor 0, 3 dims, run dim 0, reserved, voxel count 0, span count) unless <paramref name="header"/> is false.</summary>
    public static byte[] EncodeRuns(IReadOnlyList<Run> runs, bool header = true)
    {
        int at = header ? 12 : 0;
        var output = new byte[at + 16 * runs.Count];
        if (header)
        {
            output[1] = 3;
            BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(8), (uint)runs.Count);
        }
        foreach (var r in runs)
        {
            BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(at), r.X);
            BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(at + 4), r.Y);
            BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(at + 8), r.Z);
            BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(at + 12), r.Length);
            at += 16;
        }
        return output;
    }

    /// <summary>Parses an RLE body with its 12-byte header.</summary>
    /// <exception cref="InvalidDataException">The body is not a 3-D binary RLE of whole runs.</exception>
    public static List<Run> ParseRuns(ReadOnlySpan<byte> body)
    {
        if (body.Length < 12) throw new InvalidDataException($"sparse volume body of {body.Length} bytes is shorter than its 12-byte header");
        if (body[0] != 0) throw new InvalidDataException($"sparse volume payload descriptor {body[0]} is not supported (only 0, binary)");
        if (body[1] != 3) throw new InvalidDataException($"sparse volume has {body[1]} dimensions; only 3 are supported");
        long spans = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
        if (body.Length != 12 + 16 * spans)
            throw new InvalidDataException($"sparse volume declares {spans} runs, which need {12 + 16 * spans} bytes, but has {body.Length}");
        var runs = new List<Run>((int)spans);
        for (int at = 12; at < body.Length; at += 16)
        {
            var r = new Run(BinaryPrimitives.ReadInt32LittleEndian(body[at..]), BinaryPrimitives.ReadInt32LittleEndian(body[(at + 4)..]),
                BinaryPrimitives.ReadInt32LittleEndian(body[(at + 8)..]), BinaryPrimitives.ReadInt32LittleEndian(body[(at + 12)..]));
            if (r.Length <= 0 || (long)r.X + r.Length - 1 > int.MaxValue) throw new InvalidDataException($"run at ({r.X}, {r.Y}, {r.Z}) has bad length {r.Length}");
            runs.Add(r);
        }
        return runs;
    }

    /// <summary>
    /// Writes <c>format=blocks</c>: a header (sub-block grid gx, gy, gz as int32, the label as uint64), then per block
    /// its voxel offset, a flag (1 all, 2 mixed) and, for mixed blocks, per 8³ sub-block a flag (0 none, 1 all, 2 mixed)
    /// and, when mixed, a 512-bit mask (z, y, x order, LSB first).
    /// </summary>
    public sealed class BlockMaskWriter
    {
        private readonly BinaryWriter _w;
        private readonly (int X, int Y, int Z) _bs;
        private readonly byte[] _mask = new byte[64];

        public BlockMaskWriter(BinaryWriter w, (int X, int Y, int Z) blockSize, ulong label)
        {
            if (blockSize.X % 8 != 0 || blockSize.Y % 8 != 0 || blockSize.Z % 8 != 0)
                throw new ArgumentException("format=blocks needs block sizes that are multiples of 8");
            _w = w;
            _bs = blockSize;
            w.Write(blockSize.X / 8); w.Write(blockSize.Y / 8); w.Write(blockSize.Z / 8); w.Write(label);
        }

        /// <summary>Writes one block (at voxel offset <paramref name="origin"/>) where <paramref name="members"/> are the label.</summary>
        public void Write((int X, int Y, int Z) origin, ReadOnlySpan<ulong> labels, IReadOnlySet<ulong> members)
        {
            var bs = _bs;
            int inBlock = 0;
            foreach (var l in labels) if (l != 0 && members.Contains(l)) inBlock++;
            if (inBlock == 0) return;
            _w.Write(origin.X); _w.Write(origin.Y); _w.Write(origin.Z);
            if (inBlock == labels.Length) { _w.Write((byte)1); return; }
            _w.Write((byte)2);
            for (int sz = 0; sz < bs.Z / 8; sz++)
            for (int sy = 0; sy < bs.Y / 8; sy++)
            for (int sx = 0; sx < bs.X / 8; sx++)
            {
                Array.Clear(_mask);
                int n = 0;
                for (int z = 0; z < 8; z++)
                for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    var l = labels[((sz * 8 + z) * bs.Y + sy * 8 + y) * bs.X + sx * 8 + x];
                    if (l == 0 || !members.Contains(l)) continue;
                    int bit = (z * 8 + y) * 8 + x;
                    _mask[bit >> 3] |= (byte)(1 << (bit & 7));
                    n++;
                }
                if (n == 0) _w.Write((byte)0);
                else if (n == 512) _w.Write((byte)1);
                else { _w.Write((byte)2); _w.Write(_mask); }
            }
        }
    }
}
