namespace Diced.Datastore.Geometry;

/// <summary>A dense 3-D bit grid of occupied cells, each <see cref="CellSize"/> voxels wide, from <see cref="Origin"/> (voxels).</summary>
public sealed class OccupancyGrid
{
    private readonly ulong[] _bits;

    public OccupancyGrid(Point3 origin, int cellSize, int nx, int ny, int nz)
    {
        if ((long)nx * ny * nz > 1L << 30) throw new ArgumentException("occupancy grid too large");
        Origin = origin;
        CellSize = cellSize;
        (Nx, Ny, Nz) = (nx, ny, nz);
        _bits = new ulong[((long)nx * ny * nz + 63) / 64];
    }

    public Point3 Origin { get; }
    public int CellSize { get; }
    public int Nx { get; }
    public int Ny { get; }
    public int Nz { get; }

    private long Index(int x, int y, int z) => ((long)z * Ny + y) * Nx + x;

    public bool this[int x, int y, int z]
        => x >= 0 && y >= 0 && z >= 0 && x < Nx && y < Ny && z < Nz && (_bits[Index(x, y, z) >> 6] & (1UL << (int)(Index(x, y, z) & 63))) != 0;

    public void Set(int x, int y, int z)
    {
        long i = Index(x, y, z);
        _bits[i >> 6] |= 1UL << (int)(i & 63);
    }

    /// <summary>The same region with cells twice as wide: a cell is occupied when any of its eight is.</summary>
    public OccupancyGrid Coarser()
    {
        var g = new OccupancyGrid(Origin, CellSize * 2, (Nx + 1) / 2, (Ny + 1) / 2, (Nz + 1) / 2);
        for (int z = 0; z < Nz; z++)
            for (int y = 0; y < Ny; y++)
                for (int x = 0; x < Nx; x++)
                    if (this[x, y, z]) g.Set(x / 2, y / 2, z / 2);
        return g;
    }
}
