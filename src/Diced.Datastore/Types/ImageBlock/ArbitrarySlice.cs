using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>
/// DVID's <c>arb</c> image: a plane placed anywhere in 3-D, given by the physical positions (voxel size × voxel
/// coordinate) of its top-left, top-right and bottom-left pixels and a pixel size. The image is
/// ⌊|tr−tl|/res⌋+1 by ⌊|bl−tl|/res⌋+1 pixels; each pixel is the trilinear interpolation of the 8 voxels around its
/// point, rounded half up, as DVID computes it. Only uint8 volumes can be sampled this way, as in DVID.
/// Voxels in blocks that are not stored read as the volume's background.
/// </summary>
public sealed class ArbitrarySlice
{
    /// <summary>How many decoded blocks are kept between rows before the cache is trimmed to the current row's.</summary>
    private const int CachedBlocks = 2048;

    private readonly double[] _topLeft, _stepX, _stepY;

    public int Width { get; }
    public int Height { get; }

    public ArbitrarySlice(double[] topLeft, double[] topRight, double[] bottomLeft, double res)
    {
        if (topLeft.Length != 3 || topRight.Length != 3 || bottomLeft.Length != 3)
            throw DatastoreException.BadRequest("arbitrary image corners must be 3-D points");
        if (!(res > 0) || double.IsInfinity(res)) throw DatastoreException.BadRequest($"arbitrary image resolution must be a positive number, got {res}");
        double nx = Math.Floor(Distance(topRight, topLeft) / res), ny = Math.Floor(Distance(bottomLeft, topLeft) / res);
        if (!(nx < int.MaxValue / 2) || !(ny < int.MaxValue / 2))
            throw DatastoreException.BadRequest("arbitrary image is too large");
        Width = (int)nx + 1;
        Height = (int)ny + 1;
        _topLeft = topLeft;
        _stepX = Step(topLeft, topRight, nx);
        _stepY = Step(topLeft, bottomLeft, ny);
    }

    public long PixelCount => (long)Width * Height;

    private static double Distance(double[] a, double[] b)
        => Math.Sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));

    private static double[] Step(double[] from, double[] to, double n)
        => n == 0 ? [0, 0, 0] : [(to[0] - from[0]) / n, (to[1] - from[1]) / n, (to[2] - from[2]) / n];

    /// <summary>Samples <paramref name="volume"/> (uint8) on this plane: Width × Height bytes, x fastest.</summary>
    public async Task<byte[]> SampleAsync(ImageVolume volume, CancellationToken ct = default)
    {
        if (volume.Voxel != VoxelType.Uint8)
            throw DatastoreException.BadRequest($"DVID cannot retrieve images with arbitrary orientation using 1 channels and {volume.BytesPerVoxel} bytes/channel");
        var res = volume.Settings.VoxelSize;
        var blockSize = volume.BlockSize;
        var image = new byte[PixelCount];
        var cache = new Dictionary<Point3, byte[]>();
        var rowBlocks = new HashSet<Point3>();
        var values = new byte[8];
        for (int y = 0; y < Height; y++)
        {
            // Gather and load the blocks this row touches, then interpolate the row from memory.
            rowBlocks.Clear();
            for (int x = 0; x < Width; x++)
            {
                var n = Neighborhood(Point(x, y), res);
                for (int i = 0; i < 8; i++) rowBlocks.Add(n.Corner(i).BlockOf(blockSize));
            }
            if (cache.Count + rowBlocks.Count > CachedBlocks)
                foreach (var stale in cache.Keys.Where(b => !rowBlocks.Contains(b)).ToList()) cache.Remove(stale);
            foreach (var block in rowBlocks)
            {
                if (cache.ContainsKey(block)) continue;
                var voxels = new byte[volume.BlockBytes];
                if (!await volume.TryReadBlockAsync(block, voxels, ct)) Array.Fill(voxels, volume.Settings.Background);
                cache[block] = voxels;
            }
            for (int x = 0; x < Width; x++)
            {
                var n = Neighborhood(Point(x, y), res);
                for (int i = 0; i < 8; i++)
                {
                    var c = n.Corner(i);
                    var block = c.BlockOf(blockSize);
                    var local = c - new Point3(block.X * blockSize.X, block.Y * blockSize.Y, block.Z * blockSize.Z);
                    values[i] = cache[block][(local.Z * blockSize.Y + local.Y) * blockSize.X + local.X];
                }
                image[(long)y * Width + x] = Trilinear(n.Xd, n.Yd, n.Zd, values);
            }
        }
        return image;
    }

    private (double X, double Y, double Z) Point(int x, int y)
        => (_topLeft[0] + x * _stepX[0] + y * _stepY[0], _topLeft[1] + x * _stepX[1] + y * _stepY[1], _topLeft[2] + x * _stepX[2] + y * _stepY[2]);

    private readonly record struct Neighbors(Point3 Low, Point3 High, double Xd, double Yd, double Zd)
    {
        public Point3 Corner(int i) => new((i & 1) == 0 ? Low.X : High.X, (i & 2) == 0 ? Low.Y : High.Y, (i & 4) == 0 ? Low.Z : High.Z);
    }

    /// <summary>The lattice voxels around a physical point and the point's fractional position between them.</summary>
    private static Neighbors Neighborhood((double X, double Y, double Z) p, float[] res)
    {
        static (int Lo, int Hi, double D) Axis(double v, double r)
        {
            double c = v / r, lo = Math.Floor(c), hi = Math.Ceiling(c);
            if (lo < int.MinValue || hi > int.MaxValue) throw DatastoreException.BadRequest("arbitrary image lies outside the volume's coordinate range");
            return ((int)lo, (int)hi, lo == hi ? 0 : (v - lo * r) / (hi * r - lo * r));
        }
        var (x0, x1, xd) = Axis(p.X, res[0]);
        var (y0, y1, yd) = Axis(p.Y, res[1]);
        var (z0, z1, zd) = Axis(p.Z, res[2]);
        return new Neighbors(new Point3(x0, y0, z0), new Point3(x1, y1, z1), xd, yd, zd);
    }

    /// <summary>DVID's <c>trilinearInterpUint8</c>: values in corner order (x fastest), result rounded half up.</summary>
    private static byte Trilinear(double xd, double yd, double zd, ReadOnlySpan<byte> v)
    {
        double c00 = v[0] * (1 - xd) + v[1] * xd, c10 = v[2] * (1 - xd) + v[3] * xd;
        double c01 = v[4] * (1 - xd) + v[5] * xd, c11 = v[6] * (1 - xd) + v[7] * xd;
        double c0 = c00 * (1 - yd) + c10 * yd, c1 = c01 * (1 - yd) + c11 * yd;
        double c = Math.Floor(c0 * (1 - zd) + c1 * zd + 0.5);
        return c > 255 ? (byte)255 : (byte)c;
    }
}
