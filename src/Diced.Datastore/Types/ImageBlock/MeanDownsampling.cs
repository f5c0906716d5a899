using System.Numerics;
using System.Runtime.InteropServices;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>How image pyramids are made: the 2×2×2 mean, rounded to nearest for integer voxels, as image tools do.</summary>
public static class MeanDownsampling
{
    /// <summary>Means of 2×2×2 cells of a packed (2X, 2Y, 2Z) volume into a packed (X, Y, Z) block.</summary>
    public static void MeanOf2x2x2(VoxelType voxel, ReadOnlySpan<byte> source, Span<byte> dest, Point3 size)
    {
        switch (voxel)
        {
            case VoxelType.Uint8: Mean(source, dest, size); break;
            case VoxelType.Uint16: Mean(MemoryMarshal.Cast<byte, ushort>(source), MemoryMarshal.Cast<byte, ushort>(dest), size); break;
            case VoxelType.Uint32: Mean(MemoryMarshal.Cast<byte, uint>(source), MemoryMarshal.Cast<byte, uint>(dest), size); break;
            case VoxelType.Uint64: MeanUlong(MemoryMarshal.Cast<byte, ulong>(source), MemoryMarshal.Cast<byte, ulong>(dest), size); break;
            default: MeanFloat(MemoryMarshal.Cast<byte, float>(source), MemoryMarshal.Cast<byte, float>(dest), size); break;
        }
    }

    /// <summary>Integer means up to 32 bits (the sum of eight fits a ulong; specialised per type by the JIT).</summary>
    private static void Mean<T>(ReadOnlySpan<T> src, Span<T> dst, Point3 size) where T : unmanaged, IBinaryInteger<T>
    {
        static ulong widen(T v) => ulong.CreateTruncating(v);
        int sx = size.X * 2, sy = size.Y * 2;
        for (int z = 0; z < size.Z; z++)
            for (int y = 0; y < size.Y; y++)
            {
                var r00 = src.Slice(((2 * z) * sy + 2 * y) * sx, sx);
                var r01 = src.Slice(((2 * z) * sy + 2 * y + 1) * sx, sx);
                var r10 = src.Slice(((2 * z + 1) * sy + 2 * y) * sx, sx);
                var r11 = src.Slice(((2 * z + 1) * sy + 2 * y + 1) * sx, sx);
                var row = dst.Slice((z * size.Y + y) * size.X, size.X);
                for (int x = 0; x < size.X; x++)
                {
                    int a = 2 * x;
                    ulong s = widen(r00[a]) + widen(r00[a + 1]) + widen(r01[a]) + widen(r01[a + 1])
                            + widen(r10[a]) + widen(r10[a + 1]) + widen(r11[a]) + widen(r11[a + 1]);
                    row[x] = T.CreateTruncating((s + 4) >> 3);
                }
            }
    }

    /// <summary>uint64 means without overflow: the sum of eighths plus the rounded mean of the remainders.</summary>
    private static void MeanUlong(ReadOnlySpan<ulong> src, Span<ulong> dst, Point3 size)
    {
        int sx = size.X * 2, sy = size.Y * 2;
        for (int z = 0; z < size.Z; z++)
            for (int y = 0; y < size.Y; y++)
                for (int x = 0; x < size.X; x++)
                {
                    ulong q = 0, r = 0;
                    for (int dz = 0; dz < 2; dz++)
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++)
                            {
                                ulong v = src[((2 * z + dz) * sy + 2 * y + dy) * sx + 2 * x + dx];
                                q += v >> 3;
                                r += v & 7;
                            }
                    dst[(z * size.Y + y) * size.X + x] = q + ((r + 4) >> 3);
                }
    }

    private static void MeanFloat(ReadOnlySpan<float> src, Span<float> dst, Point3 size)
    {
        int sx = size.X * 2, sy = size.Y * 2;
        for (int z = 0; z < size.Z; z++)
            for (int y = 0; y < size.Y; y++)
                for (int x = 0; x < size.X; x++)
                {
                    double s = 0;
                    for (int dz = 0; dz < 2; dz++)
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++)
                                s += src[((2 * z + dz) * sy + 2 * y + dy) * sx + 2 * x + dx];
                    dst[(z * size.Y + y) * size.X + x] = (float)(s / 8);
                }
    }
}
