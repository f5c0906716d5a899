using System.Buffers.Binary;

namespace Diced.Codecs.Meshes;

/// <summary>
/// Neuroglancer's legacy single-resolution mesh (what its <c>dvid://</c> source reads from <c>{labels}_meshes</c>,
/// key <c>{body}.ngmesh</c>): little-endian uint32 vertex count, float32 x, y, z per vertex (nanometres), then uint32
/// triangle indices to the end.
/// </summary>
public static class NgMesh
{
    public static byte[] Encode(ReadOnlySpan<float> xyz, ReadOnlySpan<uint> indices)
    {
        if (xyz.Length % 3 != 0) throw new ArgumentException("vertex coordinates must come in threes", nameof(xyz));
        if (indices.Length % 3 != 0) throw new ArgumentException("indices must come in threes (triangles)", nameof(indices));
        var bytes = new byte[4 + xyz.Length * 4 + indices.Length * 4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)(xyz.Length / 3));
        int o = 4;
        foreach (var v in xyz) { BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(o), v); o += 4; }
        foreach (var i in indices) { BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(o), i); o += 4; }
        return bytes;
    }

    public static (float[] Xyz, uint[] Indices) Decode(ReadOnlySpan<byte> mesh)
    {
        if (mesh.Length < 4) throw new InvalidDataException("ngmesh is shorter than its vertex count");
        long n = BinaryPrimitives.ReadUInt32LittleEndian(mesh);
        long rest = mesh.Length - 4 - n * 12;
        if (rest < 0 || rest % 12 != 0) throw new InvalidDataException($"ngmesh of {n} vertices has {mesh.Length} bytes: not whole triangles");
        var xyz = new float[n * 3];
        for (int i = 0; i < xyz.Length; i++) xyz[i] = BinaryPrimitives.ReadSingleLittleEndian(mesh[(4 + i * 4)..]);
        var indices = new uint[rest / 4];
        int o = 4 + xyz.Length * 4;
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = BinaryPrimitives.ReadUInt32LittleEndian(mesh[(o + i * 4)..]);
            if (indices[i] >= n) throw new InvalidDataException($"ngmesh index {indices[i]} is beyond its {n} vertices");
        }
        return (xyz, indices);
    }
}
