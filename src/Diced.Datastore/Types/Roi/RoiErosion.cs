namespace Diced.Datastore.Types.Roi;

/// <summary>
/// Erodes an ROI by a cube of blocks: a block stays when every block within <c>size</c> blocks of it along each axis
/// (Chebyshev distance) is in the ROI. The cube is separable, so the spans are eroded along x, then y, then z.
/// </summary>
public static class RoiErosion
{
    public static List<RoiSpan> Erode(IReadOnlyList<RoiSpan> spans, int size)
    {
        if (size < 0) throw DatastoreException.BadRequest($"erosion size must be 0 or more blocks, got {size}");
        // Rows of merged, sorted x-runs (inclusive), keyed by (z, y).
        var rows = spans.GroupBy(s => ((long)s.Z, (long)s.Y)).ToDictionary(g => g.Key, g => Merge(g.Select(s => ((long)s.X0, (long)s.X1))));
        if (size == 0) return ToSpans(rows);
        // Along x: each run shrinks by size at both ends.
        foreach (var key in rows.Keys.ToList())
            rows[key] = rows[key].Select(r => (r.X0 + size, r.X1 - size)).Where(r => r.Item1 <= r.Item2).ToList();
        rows = AlongAxis(rows, size, (k, d) => (k.Z, k.Y + d));
        rows = AlongAxis(rows, size, (k, d) => (k.Z + d, k.Y));
        return ToSpans(rows);
    }

    /// <summary>A row survives at k where all rows within size along the axis exist: the intersection of their runs.</summary>
    private static Dictionary<(long Z, long Y), List<(long X0, long X1)>> AlongAxis(Dictionary<(long Z, long Y), List<(long X0, long X1)>> rows, int size,
        Func<(long Z, long Y), int, (long Z, long Y)> step)
    {
        var result = new Dictionary<(long Z, long Y), List<(long X0, long X1)>>();
        foreach (var (key, runs) in rows)
        {
            var kept = runs;
            for (int d = -size; d <= size && kept.Count > 0; d++)
                kept = d == 0 ? kept : rows.TryGetValue(step(key, d), out var other) ? Intersect(kept, other) : [];
            if (kept.Count > 0) result[key] = kept;
        }
        return result;
    }

    private static List<(long X0, long X1)> Merge(IEnumerable<(long X0, long X1)> runs)
    {
        var merged = new List<(long X0, long X1)>();
        foreach (var r in runs.OrderBy(r => r.X0))
        {
            if (merged.Count > 0 && r.X0 <= merged[^1].X1 + 1) merged[^1] = (merged[^1].X0, Math.Max(merged[^1].X1, r.X1));
            else merged.Add(r);
        }
        return merged;
    }

    private static List<(long X0, long X1)> Intersect(List<(long X0, long X1)> a, List<(long X0, long X1)> b)
    {
        var result = new List<(long X0, long X1)>();
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            long lo = Math.Max(a[i].X0, b[j].X0), hi = Math.Min(a[i].X1, b[j].X1);
            if (lo <= hi) result.Add((lo, hi));
            if (a[i].X1 < b[j].X1) i++;
            else j++;
        }
        return result;
    }

    private static List<RoiSpan> ToSpans(Dictionary<(long Z, long Y), List<(long X0, long X1)>> rows)
        => rows.OrderBy(r => r.Key.Z).ThenBy(r => r.Key.Y)
            .SelectMany(r => r.Value.Select(x => new RoiSpan((int)r.Key.Z, (int)r.Key.Y, (int)x.X0, (int)x.X1))).ToList();
}
