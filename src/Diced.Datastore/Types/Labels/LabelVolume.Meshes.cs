using System.Numerics;
using Diced.Codecs.Meshes;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>A body's mesh with what it was built from: the index's fingerprint and the level-0 blocks it covered.</summary>
public sealed record BodyMesh(byte[] Mesh, int Triangles, int CellSize, byte[] Fingerprint, Point3[] Blocks);

/// <summary>A body's surface as a Neuroglancer mesh, built from the blocks its label index names.</summary>
public sealed partial class LabelVolume
{
    /// <summary>Cells per axis of a body's bounding box at the finest scale tried.</summary>
    public const int MeshGridCells = 256;

    /// <summary>
    /// The surface of body <paramref name="body"/> (a supervoxel with <paramref name="supervoxels"/>) in Neuroglancer's
    /// legacy mesh format, vertices in nanometres (voxel size from the instance): the body's voxels are gathered into
    /// cells (the finest power-of-two size that fits its bounding box in <see cref="MeshGridCells"/> per axis, read
    /// from the coarsest pyramid level no finer than that), cells grow until the surface has at most
    /// <paramref name="maxTriangles"/> triangles, and the surface is smoothed. Null when the body does not exist.
    /// </summary>
    public Task<BodyMesh?> BodyMeshAsync(ulong body, bool supervoxels, int maxTriangles, CancellationToken ct = default)
        => ReadConsistentAsync<BodyMesh?>(async () =>
        {
            RequireIndex();
            var idx = supervoxels && HasMapping ? await SupervoxelIndexNowAsync(body, ct) : await GetIndexAsync(body, ct);
            if (idx is null || idx.IsEmpty) return null;
            var bs = BlockSize;
            var lo = new Point3(idx.Blocks.Keys.Min(b => b.X) * bs.X, idx.Blocks.Keys.Min(b => b.Y) * bs.Y, idx.Blocks.Keys.Min(b => b.Z) * bs.Z);
            var hi = new Point3((idx.Blocks.Keys.Max(b => b.X) + 1) * bs.X, (idx.Blocks.Keys.Max(b => b.Y) + 1) * bs.Y, (idx.Blocks.Keys.Max(b => b.Z) + 1) * bs.Z);
            int extent = Math.Max(hi.X - lo.X, Math.Max(hi.Y - lo.Y, hi.Z - lo.Z));
            int cell = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, (extent + MeshGridCells - 1) / MeshGridCells));
            int scale = Math.Min(MaxDownres, BitOperations.Log2((uint)cell));
            var grid = await OccupancyAsync(body, supervoxels, scale, cell, lo, hi, ct);
            while (SurfaceMesh.CountTriangles(grid) > maxTriangles && grid.Nx + grid.Ny + grid.Nz > 3) grid = grid.Coarser();
            var mesh = SurfaceMesh.Build(grid);
            var res = _settings.VoxelSize;
            var xyz = mesh.Xyz;
            for (int i = 0; i < xyz.Length; i++) xyz[i] *= res[i % 3];
            return new BodyMesh(NgMesh.Encode(xyz, mesh.Indices), mesh.Triangles, grid.CellSize, Fingerprint(idx), [.. idx.Blocks.Keys]);
        }, ct);

    /// <summary>A digest of the body's label index (null when the body does not exist): it changes whenever the body's voxel counts do.</summary>
    public Task<byte[]?> IndexFingerprintAsync(ulong body, bool supervoxels, CancellationToken ct = default)
        => ReadConsistentAsync<byte[]?>(async () =>
        {
            RequireIndex();
            var idx = supervoxels && HasMapping ? await SupervoxelIndexNowAsync(body, ct) : await GetIndexAsync(body, ct);
            return idx is null || idx.IsEmpty ? null : Fingerprint(idx);
        }, ct);

    private static byte[] Fingerprint(LabelIndex idx)
    {
        // Blocks and counts only (not who changed it last), in a fixed order.
        using var h = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        Span<byte> buf = stackalloc byte[20];
        foreach (var (block, counts) in idx.Blocks.OrderBy(b => LabelIndex.PackBlock(b.Key)))
            foreach (var (sv, n) in counts.OrderBy(c => c.Key))
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buf, LabelIndex.PackBlock(block));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buf[8..], sv);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(buf[16..], n);
                h.AppendData(buf);
            }
        return h.GetHashAndReset();
    }

    /// <summary>The cells of <paramref name="cell"/> level-0 voxels holding any voxel of the label, read at <paramref name="scale"/>.</summary>
    private async Task<OccupancyGrid> OccupancyAsync(ulong label, bool supervoxels, int scale, int cell, Point3 lo, Point3 hi, CancellationToken ct)
    {
        var origin = new Point3(lo.X / cell * cell, lo.Y / cell * cell, lo.Z / cell * cell);
        var grid = new OccupancyGrid(origin, cell, (hi.X - origin.X + cell - 1) / cell, (hi.Y - origin.Y + cell - 1) / cell, (hi.Z - origin.Z + cell - 1) / cell);
        int shift = BitOperations.Log2((uint)cell) - scale; // scale-level voxels per cell = 2^shift
        int ox = origin.X >> scale, oy = origin.Y >> scale, oz = origin.Z >> scale;
        await ForEachLabelBlockAsync(label, supervoxels, scale, VoxelBounds.None, (blockBox, labels, members) =>
        {
            var (b, s) = (blockBox.Offset, blockBox.Size);
            ulong only = members.Count == 1 ? members.First() : 0;
            int i = 0;
            for (int z = 0; z < s.Z; z++)
                for (int y = 0; y < s.Y; y++)
                    for (int x = 0; x < s.X; x++, i++)
                    {
                        ulong v = labels[i];
                        if (v == 0 || (only != 0 ? v != only : !members.Contains(v))) continue;
                        int cx = (b.X + x - ox) >> shift, cy = (b.Y + y - oy) >> shift, cz = (b.Z + z - oz) >> shift;
                        if (cx >= 0 && cy >= 0 && cz >= 0 && cx < grid.Nx && cy < grid.Ny && cz < grid.Nz) grid.Set(cx, cy, cz);
                    }
        }, ct);
        return grid;
    }
}
