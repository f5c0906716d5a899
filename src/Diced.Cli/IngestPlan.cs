namespace Diced.Cli;

/// <summary>One write request of an ingest: a box of the input, in the input's voxel coordinates.</summary>
internal readonly record struct IngestPart((int X, int Y, int Z) At, (int X, int Y, int Z) Size);

/// <summary>
/// Cuts an input volume into write requests of whole blocks of the destination (the input's placement decides where
/// block boundaries fall), each at most about a byte budget, in z, y, x order: layers of blocks merged in z while a
/// whole layer fits, otherwise a layer cut into rows of blocks, and rows into columns of blocks when one row is too big.
/// </summary>
internal static class IngestPlan
{
    public static List<IngestPart> Split((int X, int Y, int Z) size, (int X, int Y, int Z) offset, (int X, int Y, int Z) block, int bytesPerVoxel, long budget)
    {
        var zs = Cuts(size.Z, offset.Z, block.Z);
        var ys = Cuts(size.Y, offset.Y, block.Y);
        var xs = Cuts(size.X, offset.X, block.X);
        long perVoxel = bytesPerVoxel;
        var parts = new List<IngestPart>();
        for (int zi = 0; zi < zs.Count;)
        {
            // Whole layers, as many as fit.
            long layer = (long)size.X * size.Y * zs[zi].Length * perVoxel;
            if (layer <= budget)
            {
                int z0 = zs[zi].Start, depth = 0;
                while (zi < zs.Count && (long)size.X * size.Y * (depth + zs[zi].Length) * perVoxel <= budget) depth += zs[zi++].Length;
                parts.Add(new IngestPart((0, 0, z0), (size.X, size.Y, depth)));
                continue;
            }
            var (zStart, zLength) = zs[zi++];
            foreach (var (yStart, rows) in Group(ys, (long)size.X * zLength * perVoxel, budget))
            {
                if ((long)size.X * rows * zLength * perVoxel <= budget)
                {
                    parts.Add(new IngestPart((0, yStart, zStart), (size.X, rows, zLength)));
                    continue;
                }
                foreach (var (xStart, cols) in Group(xs, (long)rows * zLength * perVoxel, budget))
                    parts.Add(new IngestPart((xStart, yStart, zStart), (cols, rows, zLength)));
            }
        }
        return parts;
    }

    /// <summary>[start, length) pieces of an axis of <paramref name="length"/> placed at <paramref name="offset"/>, cut at
    /// block boundaries (the first and last may be partial blocks).</summary>
    private static List<(int Start, int Length)> Cuts(int length, int offset, int block)
    {
        var cuts = new List<(int, int)>();
        for (int at = 0; at < length;)
        {
            int next = Math.Min(length, at + block - Mod(offset + at, block));
            cuts.Add((at, next - at));
            at = next;
        }
        return cuts;
    }

    /// <summary>Consecutive pieces merged while <paramref name="perUnit"/> × their length stays within the budget (each
    /// group at least one piece).</summary>
    private static IEnumerable<(int Start, int Length)> Group(List<(int Start, int Length)> cuts, long perUnit, long budget)
    {
        for (int i = 0; i < cuts.Count;)
        {
            int start = cuts[i].Start, length = cuts[i++].Length;
            while (i < cuts.Count && perUnit * (length + cuts[i].Length) <= budget) length += cuts[i++].Length;
            yield return (start, length);
        }
    }

    private static int Mod(int a, int b) => ((a % b) + b) % b;
}
