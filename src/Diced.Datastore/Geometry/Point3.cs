using System.Buffers.Binary;

namespace Diced.Datastore.Geometry;

/// <summary>A 3-D integer point: a voxel coordinate, a size, or a block coordinate.</summary>
public readonly record struct Point3(int X, int Y, int Z)
{
    public int this[int axis] => axis switch { 0 => X, 1 => Y, 2 => Z, _ => throw new ArgumentOutOfRangeException(nameof(axis)) };

    public long Product => (long)X * Y * Z;

    public static Point3 operator +(Point3 a, Point3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    public static Point3 operator -(Point3 a, Point3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);

    public static Point3 Min(Point3 a, Point3 b) => new(Math.Min(a.X, b.X), Math.Min(a.Y, b.Y), Math.Min(a.Z, b.Z));
    public static Point3 Max(Point3 a, Point3 b) => new(Math.Max(a.X, b.X), Math.Max(a.Y, b.Y), Math.Max(a.Z, b.Z));

    /// <summary>The block containing voxel <c>this</c> (floor division, so -1 is in block -1).</summary>
    public Point3 BlockOf(Point3 blockSize) => new(FloorDiv(X, blockSize.X), FloorDiv(Y, blockSize.Y), FloorDiv(Z, blockSize.Z));

    /// <summary>The first voxel of block <c>this</c>.</summary>
    public Point3 BlockOrigin(Point3 blockSize) => new(X * blockSize.X, Y * blockSize.Y, Z * blockSize.Z);

    public static int FloorDiv(int a, int b) => a >= 0 ? a / b : -(int)((-(long)a + b - 1) / b);

    public override string ToString() => $"({X},{Y},{Z})";

    /// <summary>DVID's 12-byte block index: z, y, x as big-endian uint32 of the value with its sign bit flipped,
    /// so that byte order equals numeric order z, then y, then x (§13.3, Appendix A.5).</summary>
    public void WriteZyxIndex(Span<byte> dest)
    {
        BinaryPrimitives.WriteUInt32BigEndian(dest, (uint)Z ^ 0x80000000u);
        BinaryPrimitives.WriteUInt32BigEndian(dest[4..], (uint)Y ^ 0x80000000u);
        BinaryPrimitives.WriteUInt32BigEndian(dest[8..], (uint)X ^ 0x80000000u);
    }

    public static Point3 ReadZyxIndex(ReadOnlySpan<byte> src) => new(
        (int)(BinaryPrimitives.ReadUInt32BigEndian(src[8..]) ^ 0x80000000u),
        (int)(BinaryPrimitives.ReadUInt32BigEndian(src[4..]) ^ 0x80000000u),
        (int)(BinaryPrimitives.ReadUInt32BigEndian(src) ^ 0x80000000u));
}

/// <summary>A box of voxels: its first voxel and its size (every dimension positive).</summary>
public readonly record struct Box(Point3 Offset, Point3 Size)
{
    /// <summary>One past the last voxel on each axis.</summary>
    public Point3 End => Offset + Size;

    /// <summary>The last voxel (inclusive).</summary>
    public Point3 Last => new(End.X - 1, End.Y - 1, End.Z - 1);

    public long VoxelCount => Size.Product;

    public Point3 FirstBlock(Point3 blockSize) => Offset.BlockOf(blockSize);

    public Point3 LastBlock(Point3 blockSize) => Last.BlockOf(blockSize);

    public bool IsBlockAligned(Point3 b)
        => Offset.X % b.X == 0 && Offset.Y % b.Y == 0 && Offset.Z % b.Z == 0 && End.X % b.X == 0 && End.Y % b.Y == 0 && End.Z % b.Z == 0;

    /// <summary>The overlap with <paramref name="other"/>, or null.</summary>
    public Box? Intersect(Box other)
    {
        var lo = Point3.Max(Offset, other.Offset);
        var hi = Point3.Min(End, other.End);
        if (hi.X <= lo.X || hi.Y <= lo.Y || hi.Z <= lo.Z) return null;
        return new Box(lo, hi - lo);
    }

    public bool Contains(Box other) => Intersect(other) == other;

    public bool Contains(Point3 p)
        => p.X >= Offset.X && p.X - (long)Offset.X < Size.X && p.Y >= Offset.Y && p.Y - (long)Offset.Y < Size.Y && p.Z >= Offset.Z && p.Z - (long)Offset.Z < Size.Z;

    /// <summary>The box cut along z at block boundaries: one part per layer of blocks, in z order.</summary>
    public IEnumerable<Box> ZLayers(Point3 blockSize)
    {
        int first = FirstBlock(blockSize).Z, last = LastBlock(blockSize).Z;
        for (int bz = first; bz <= last; bz++)
        {
            int z0 = Math.Max(Offset.Z, bz * blockSize.Z), z1 = Math.Min(End.Z, (bz + 1) * blockSize.Z);
            yield return new Box(Offset with { Z = z0 }, Size with { Z = z1 - z0 });
        }
    }

    public override string ToString() => $"{Offset} -> {Last}";
}
