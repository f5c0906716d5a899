using System.Buffers.Binary;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Voxels;

/// <summary>
/// DVID's <c>isotropic</c> 2-D slices: when the slice's two axes have different voxel sizes, the coarser axis is read
/// with proportionally fewer voxels (rounded half up) and the image stretched back to the requested size, so that a
/// pixel is square in physical space. Labels are stretched by nearest neighbour, images by DVID's box filter
/// (DVID averages 32- and 64-bit voxels per byte channel; Diced averages their values).
/// </summary>
public static class IsotropicSlice
{
    /// <summary>The axes (0 x, 1 y, 2 z) across and down a slice of <paramref name="shape"/>.</summary>
    private static (int Across, int Down) Axes(DataShape shape) => shape switch
    {
        DataShape.XY => (0, 1),
        DataShape.XZ => (0, 2),
        _ => (1, 2),
    };

    /// <summary>The box to read for a slice of <paramref name="box"/>, and its width and height in pixels.</summary>
    public static (Box Read, int Width, int Height) ReadBox(DataShape shape, Box box, float[] voxelSize)
    {
        var (a, d) = Axes(shape);
        int w = box.Size[a], h = box.Size[d];
        float ra = voxelSize[a], rd = voxelSize[d];
        if (ra == rd) return (box, w, h);
        var size = new int[] { box.Size.X, box.Size.Y, box.Size.Z };
        if (rd > ra) size[d] = h = Math.Max(1, (int)(box.Size[d] * ra / rd + 0.5f));
        else size[a] = w = Math.Max(1, (int)(box.Size[a] * rd / ra + 0.5f));
        return (new Box(box.Offset, new Point3(size[0], size[1], size[2])), w, h);
    }

    /// <summary>
    /// Stretches a <paramref name="w"/>×<paramref name="h"/> image of <paramref name="voxel"/> pixels to <paramref name="dw"/>×<paramref name="dh"/>:
    /// nearest neighbour for labels, else DVID's box filter (each source pixel magnified dw×dh times, each destination
    /// pixel the mean of the w×h magnified pixels it covers, truncated).
    /// </summary>
    public static byte[] Resample(byte[] src, int w, int h, VoxelType voxel, bool labels, int dw, int dh)
    {
        if (w == dw && h == dh) return src;
        int bpp = voxel.BytesPerVoxel();
        var dst = new byte[dw * dh * bpp];
        for (int y = 0; y < dh; y++)
        {
            for (int x = 0; x < dw; x++)
            {
                int o = (y * dw + x) * bpp;
                if (labels)
                {
                    int sx = (int)((long)x * w / dw), sy = (int)((long)y * h / dh);
                    src.AsSpan((sy * w + sx) * bpp, bpp).CopyTo(dst.AsSpan(o, bpp));
                    continue;
                }
                // In magnified units a source pixel spans dw × dh and a destination pixel w × h.
                long x0 = (long)x * w, x1 = x0 + w, y0 = (long)y * h, y1 = y0 + h;
                UInt128 sum = 0;
                double fsum = 0;
                for (long sy = y0 / dh; sy * dh < y1; sy++)
                {
                    long oy = Math.Min(y1, (sy + 1) * dh) - Math.Max(y0, sy * dh);
                    for (long sx = x0 / dw; sx * dw < x1; sx++)
                    {
                        long weight = oy * (Math.Min(x1, (sx + 1) * dw) - Math.Max(x0, sx * dw));
                        var v = src.AsSpan((int)(sy * w + sx) * bpp, bpp);
                        if (voxel == VoxelType.Float32) fsum += weight * (double)BinaryPrimitives.ReadSingleLittleEndian(v);
                        else sum += (UInt128)Value(v) * (ulong)weight;
                    }
                }
                ulong n = (ulong)w * (ulong)h;
                var d = dst.AsSpan(o, bpp);
                switch (voxel)
                {
                    case VoxelType.Float32: BinaryPrimitives.WriteSingleLittleEndian(d, (float)(fsum / n)); break;
                    case VoxelType.Uint8: d[0] = (byte)(sum / n); break;
                    case VoxelType.Uint16: BinaryPrimitives.WriteUInt16LittleEndian(d, (ushort)(sum / n)); break;
                    case VoxelType.Uint32: BinaryPrimitives.WriteUInt32LittleEndian(d, (uint)(sum / n)); break;
                    default: BinaryPrimitives.WriteUInt64LittleEndian(d, (ulong)(sum / n)); break;
                }
            }
        }
        return dst;
    }

    private static ulong Value(ReadOnlySpan<byte> v) => v.Length switch
    {
        1 => v[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(v),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(v),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(v),
    };
}
