using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>How label pyramids are made: DVID's 2×2×2 majority vote.</summary>
public static class Downsampling
{
    /// <summary>2×2×2 majority vote of a (2X, 2Y, 2Z) volume into an (X, Y, Z) block; ties go to the smaller label.</summary>
    public static void MajorityOf2x2x2(ReadOnlySpan<ulong> source, Span<ulong> dest, Point3 size)
    {
        int sx = size.X * 2, sy = size.Y * 2;
        Span<ulong> v = stackalloc ulong[8];
        for (int z = 0; z < size.Z; z++)
        for (int y = 0; y < size.Y; y++)
        for (int x = 0; x < size.X; x++)
        {
            int i = 0;
            for (int dz = 0; dz < 2; dz++)
            for (int dy = 0; dy < 2; dy++)
            {
                var row = source.Slice(((2 * z + dz) * sy + 2 * y + dy) * sx + 2 * x, 2);
                v[i++] = row[0];
                v[i++] = row[1];
            }
            ulong best = v[0];
            if (!(v[1] == best && v[2] == best && v[3] == best && v[4] == best && v[5] == best && v[6] == best && v[7] == best))
            {
                int bestCount = 0;
                for (int a = 0; a < 8; a++)
                {
                    int c = 0;
                    for (int b = 0; b < 8; b++) if (v[b] == v[a]) c++;
                    if (c > bestCount || (c == bestCount && v[a] < best)) { bestCount = c; best = v[a]; }
                }
            }
            dest[(z * size.Y + y) * size.X + x] = best;
        }
    }
}
