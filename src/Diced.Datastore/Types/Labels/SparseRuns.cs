using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

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

/// <summary>Sparse-volume runs against the block grid: cutting runs into blocks, and collecting a label's runs from a block.
/// (The wire formats are in <see cref="SparseVolume"/>.)</summary>
public static class SparseRuns
{
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
}
