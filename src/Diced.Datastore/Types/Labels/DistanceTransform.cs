namespace Diced.Datastore.Types.Labels;

/// <summary>
/// Exact squared Euclidean distance transform of a 3-D voxel grid (Felzenszwalb and Huttenlocher's lower envelope of
/// parabolas, one pass per axis): for every voxel, the squared distance to the nearest seed voxel.
/// </summary>
public static class DistanceTransform
{
    /// <summary>Squared distances (x fastest) to the nearest voxel where <paramref name="seed"/> holds; infinity when there is none.</summary>
    public static double[] SquaredToNearest(int nx, int ny, int nz, Func<int, bool> seed)
    {
        int n = nx * ny * nz;
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = seed(i) ? 0 : double.PositiveInfinity;
        int longest = Math.Max(nx, Math.Max(ny, nz));
        var f = new double[longest];
        var outLine = new double[longest];
        var v = new int[longest];
        var z = new double[longest + 1];
        void Lines(int count, int length, Func<int, int> start, int stride)
        {
            for (int line = 0; line < count; line++)
            {
                int s = start(line);
                for (int i = 0; i < length; i++) f[i] = d[s + i * stride];
                OneDimension(f.AsSpan(0, length), outLine, v, z);
                for (int i = 0; i < length; i++) d[s + i * stride] = outLine[i];
            }
        }
        Lines(ny * nz, nx, l => l * nx, 1);                              // along x
        Lines(nx * nz, ny, l => (l / nx) * nx * ny + l % nx, nx);        // along y
        Lines(nx * ny, nz, l => l, nx * ny);                             // along z
        return d;
    }

    /// <summary>The 1-D transform of sampled function <paramref name="f"/> into <paramref name="result"/>.</summary>
    private static void OneDimension(ReadOnlySpan<double> f, double[] result, int[] v, double[] z)
    {
        int n = f.Length, k = -1;
        for (int q = 0; q < n; q++)
        {
            if (double.IsPositiveInfinity(f[q])) continue;
            while (k >= 0)
            {
                double s = ((f[q] + (double)q * q) - (f[v[k]] + (double)v[k] * v[k])) / (2.0 * (q - v[k]));
                if (s <= z[k]) k--;
                else
                {
                    k++;
                    v[k] = q;
                    z[k] = s;
                    z[k + 1] = double.PositiveInfinity;
                    break;
                }
            }
            if (k < 0)
            {
                k = 0;
                v[0] = q;
                z[0] = double.NegativeInfinity;
                z[1] = double.PositiveInfinity;
            }
        }
        if (k < 0)
        {
            for (int q = 0; q < n; q++) result[q] = double.PositiveInfinity;
            return;
        }
        int j = 0;
        for (int q = 0; q < n; q++)
        {
            while (z[j + 1] < q) j++;
            double dq = q - v[j];
            result[q] = dq * dq + f[v[j]];
        }
    }
}
