namespace Diced.Datastore.Geometry;

/// <summary>
/// The closed surface around the occupied cells of an <see cref="OccupancyGrid"/>: a square (two triangles, wound
/// counter-clockwise seen from outside) for every face between an occupied and an empty cell, corners shared, then
/// lightly smoothed. Vertices are in voxels.
/// </summary>
public sealed class SurfaceMesh
{
    public required float[] Xyz { get; init; }
    public required uint[] Indices { get; init; }

    public int Triangles => Indices.Length / 3;

    /// <summary>The number of triangles <see cref="Build"/> would make (two per boundary face), without making them.</summary>
    public static long CountTriangles(OccupancyGrid g)
    {
        long faces = 0;
        for (int z = 0; z < g.Nz; z++)
            for (int y = 0; y < g.Ny; y++)
                for (int x = 0; x < g.Nx; x++)
                {
                    if (!g[x, y, z]) continue;
                    if (!g[x - 1, y, z]) faces++;
                    if (!g[x + 1, y, z]) faces++;
                    if (!g[x, y - 1, z]) faces++;
                    if (!g[x, y + 1, z]) faces++;
                    if (!g[x, y, z - 1]) faces++;
                    if (!g[x, y, z + 1]) faces++;
                }
        return faces * 2;
    }

    // The four corners of each face, counter-clockwise seen from outside: (dx, dy, dz) of the neighbour, corner offsets.
    private static readonly (int Dx, int Dy, int Dz, int[] Corners)[] Faces =
    [
        (-1, 0, 0, [0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0]),
        (1, 0, 0, [1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1]),
        (0, -1, 0, [0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1]),
        (0, 1, 0, [0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0]),
        (0, 0, -1, [0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0]),
        (0, 0, 1, [0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]),
    ];

    public static SurfaceMesh Build(OccupancyGrid g, int smoothing = 2)
    {
        var vertexOf = new Dictionary<long, uint>();
        var xyz = new List<float>();
        var indices = new List<uint>();
        long stride = g.Nx + 2L, plane = stride * (g.Ny + 2L);
        uint Vertex(int x, int y, int z)
        {
            long key = z * plane + y * stride + x;
            if (vertexOf.TryGetValue(key, out var v)) return v;
            v = (uint)(xyz.Count / 3);
            vertexOf[key] = v;
            xyz.Add(g.Origin.X + x * g.CellSize);
            xyz.Add(g.Origin.Y + y * g.CellSize);
            xyz.Add(g.Origin.Z + z * g.CellSize);
            return v;
        }
        Span<uint> q = stackalloc uint[4];
        for (int z = 0; z < g.Nz; z++)
            for (int y = 0; y < g.Ny; y++)
                for (int x = 0; x < g.Nx; x++)
                {
                    if (!g[x, y, z]) continue;
                    foreach (var (dx, dy, dz, c) in Faces)
                    {
                        if (g[x + dx, y + dy, z + dz]) continue;
                        for (int k = 0; k < 4; k++) q[k] = Vertex(x + c[3 * k], y + c[3 * k + 1], z + c[3 * k + 2]);
                        indices.AddRange([q[0], q[1], q[2], q[0], q[2], q[3]]);
                    }
                }
        var mesh = new SurfaceMesh { Xyz = [.. xyz], Indices = [.. indices] };
        mesh.Smooth(smoothing);
        return mesh;
    }

    /// <summary>Laplacian smoothing: each vertex moves halfway to the mean of its neighbours (topology unchanged).</summary>
    private void Smooth(int iterations)
    {
        int n = Xyz.Length / 3;
        if (iterations <= 0 || n == 0) return;
        var neighbours = new HashSet<uint>[n];
        for (int i = 0; i < n; i++) neighbours[i] = [];
        for (int t = 0; t < Indices.Length; t += 3)
            for (int k = 0; k < 3; k++)
            {
                uint a = Indices[t + k], b = Indices[t + (k + 1) % 3];
                neighbours[a].Add(b);
                neighbours[b].Add(a);
            }
        var next = new float[Xyz.Length];
        for (int it = 0; it < iterations; it++)
        {
            for (int i = 0; i < n; i++)
            {
                float sx = 0, sy = 0, sz = 0;
                foreach (var j in neighbours[i]) { sx += Xyz[3 * j]; sy += Xyz[3 * j + 1]; sz += Xyz[3 * j + 2]; }
                int m = neighbours[i].Count;
                next[3 * i] = 0.5f * Xyz[3 * i] + 0.5f * sx / m;
                next[3 * i + 1] = 0.5f * Xyz[3 * i + 1] + 0.5f * sy / m;
                next[3 * i + 2] = 0.5f * Xyz[3 * i + 2] + 0.5f * sz / m;
            }
            Array.Copy(next, Xyz, Xyz.Length);
        }
    }
}
