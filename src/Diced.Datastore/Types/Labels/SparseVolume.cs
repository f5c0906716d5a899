using System.Buffers.Binary;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>A run of <see cref="Length"/> voxels from (X, Y, Z) along +x (sparse volumes).</summary>
public readonly record struct Run(int X, int Y, int Z, int Length);

/// <summary>Inclusive voxel bounds of a sparsevol request; null sides are open.</summary>
public sealed record VoxelBounds(int? MinX, int? MaxX, int? MinY, int? MaxY, int? MinZ, int? MaxZ)
{
    public static readonly VoxelBounds None = new(null, null, null, null, null, null);

    public bool IsNone => this == None;

    public bool BlockOutside(Box block) =>
        (MinX is { } a && block.Last.X < a) || (MaxX is { } b && block.Offset.X > b) ||
        (MinY is { } c && block.Last.Y < c) || (MaxY is { } d && block.Offset.Y > d) ||
        (MinZ is { } e && block.Last.Z < e) || (MaxZ is { } f && block.Offset.Z > f);
}

/// <summary>
/// DVID's sparse-volume formats in one place: the legacy RLE (§10.6: a 12-byte header, then x, y, z, length runs,
/// little-endian int32), its header-less "srles" form, the <c>format=blocks</c> masks, and runs cut into blocks.
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

    /// <summary>Parses an RLE body with its 12-byte header; every malformation is a 400.</summary>
    public static List<Run> ParseRuns(ReadOnlySpan<byte> body)
    {
        if (body.Length < 12) throw DatastoreException.BadRequest($"sparse volume body of {body.Length} bytes is shorter than its 12-byte header");
        if (body[0] != 0) throw DatastoreException.BadRequest($"sparse volume payload descriptor {body[0]} is not supported (only 0, binary)");
        if (body[1] != 3) throw DatastoreException.BadRequest($"sparse volume has {body[1]} dimensions; only 3 are supported");
        long spans = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
        if (body.Length != 12 + 16 * spans)
            throw DatastoreException.BadRequest($"sparse volume declares {spans} runs, which need {12 + 16 * spans} bytes, but has {body.Length}");
        var runs = new List<Run>((int)spans);
        for (int at = 12; at < body.Length; at += 16)
        {
            var r = new Run(BinaryPrimitives.ReadInt32LittleEndian(body[at..]), BinaryPrimitives.ReadInt32LittleEndian(body[(at + 4)..]),
                BinaryPrimitives.ReadInt32LittleEndian(body[(at + 8)..]), BinaryPrimitives.ReadInt32LittleEndian(body[(at + 12)..]));
            if (r.Length <= 0 || (long)r.X + r.Length - 1 > int.MaxValue) throw DatastoreException.BadRequest($"run at ({r.X}, {r.Y}, {r.Z}) has bad length {r.Length}");
            runs.Add(r);
        }
        return runs;
    }

    /// <summary>
    /// Runs cut into blocks as in-block (offset, length) rows, keeping only the blocks in <paramref name="blocks"/> (a
    /// label's), so a huge run costs no more than the label's own blocks.
    /// </summary>
    public static Dictionary<Point3, List<(int Index, int Length)>> RunsByBlock(IEnumerable<Run> runs, IReadOnlyCollection<Point3> blocks, Point3 bs)
    {
        var byBlock = new Dictionary<Point3, List<(int, int)>>();
        if (blocks.Count == 0) return byBlock;
        var lo = blocks.Aggregate(Point3.Min).BlockOrigin(bs);
        var hi = (blocks.Aggregate(Point3.Max) + new Point3(1, 1, 1)).BlockOrigin(bs); // exclusive
        var wanted = blocks as IReadOnlySet<Point3> ?? blocks.ToHashSet();
        foreach (var r in runs)
        {
            if (r.Y < lo.Y || r.Y >= hi.Y || r.Z < lo.Z || r.Z >= hi.Z) continue;
            long start = Math.Max(r.X, lo.X), end = Math.Min((long)r.X + r.Length, hi.X);
            if (start >= end) continue;
            int x = (int)start, left = (int)(end - start);
            while (left > 0)
            {
                var p = new Point3(x, r.Y, r.Z);
                var b = p.BlockOf(bs);
                var o = p - b.BlockOrigin(bs);
                int n = Math.Min(left, bs.X - o.X);
                if (wanted.Contains(b))
                {
                    if (!byBlock.TryGetValue(b, out var list)) byBlock[b] = list = new();
                    list.Add(((o.Z * bs.Y + o.Y) * bs.X + o.X, n));
                }
                x += n;
                left -= n;
            }
        }
        return byBlock;
    }

    /// <summary>Appends the runs of <paramref name="members"/>' voxels in one block (clipped to <paramref name="b"/>).</summary>
    public static void AppendRuns(ReadOnlySpan<ulong> labels, Box blockBox, HashSet<ulong> members, VoxelBounds b, List<Run> runs)
    {
        var bs = blockBox.Size;
        var o = blockBox.Offset;
        int x0 = b.MinX is { } lo ? (int)Math.Clamp((long)lo - o.X, 0, bs.X) : 0;
        int x1 = b.MaxX is { } hi ? (int)Math.Clamp((long)hi - o.X, -1, bs.X - 1) : bs.X - 1;
        for (int z = 0; z < bs.Z; z++)
        {
            int vz = o.Z + z;
            if ((b.MinZ is { } mz && vz < mz) || (b.MaxZ is { } xz && vz > xz)) continue;
            for (int y = 0; y < bs.Y; y++)
            {
                int vy = o.Y + y;
                if ((b.MinY is { } my && vy < my) || (b.MaxY is { } xy && vy > xy)) continue;
                var row = labels.Slice((z * bs.Y + y) * bs.X, bs.X);
                int x = x0;
                ulong last = 0;
                bool lastIn = false;
                while (x <= x1)
                {
                    ulong l = row[x];
                    bool isIn = l == last ? lastIn : (lastIn = members.Contains(last = l));
                    if (!isIn) { x++; continue; }
                    int start = x;
                    while (x <= x1 && (row[x] == l || members.Contains(row[x]))) x++;
                    runs.Add(new Run(o.X + start, vy, vz, x - start));
                }
            }
        }
    }

    /// <summary>
    /// Writes <c>format=blocks</c>: a header (sub-block grid gx, gy, gz as int32, the label as uint64), then per block
    /// its offset, a flag (1 all, 2 mixed) and, for mixed blocks, per 8³ sub-block a flag (0 none, 1 all, 2 mixed) and,
    /// when mixed, a 512-bit mask (z, y, x order, LSB first).
    /// </summary>
    public sealed class BlockMaskWriter
    {
        private readonly BinaryWriter _w;
        private readonly Point3 _bs;
        private readonly byte[] _mask = new byte[64];

        public BlockMaskWriter(BinaryWriter w, Point3 blockSize, ulong label)
        {
            _w = w;
            _bs = blockSize;
            w.Write(blockSize.X / 8); w.Write(blockSize.Y / 8); w.Write(blockSize.Z / 8); w.Write(label);
        }

        public void Write(Box blockBox, ReadOnlySpan<ulong> labels, HashSet<ulong> members)
        {
            var bs = _bs;
            int inBlock = 0;
            foreach (var l in labels) if (l != 0 && members.Contains(l)) inBlock++;
            if (inBlock == 0) return;
            _w.Write(blockBox.Offset.X); _w.Write(blockBox.Offset.Y); _w.Write(blockBox.Offset.Z);
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
