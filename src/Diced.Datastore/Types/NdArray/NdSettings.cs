using System.Collections.Immutable;
using System.Globalization;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;

namespace Diced.Datastore.Types.NdArray;

/// <summary>
/// The typed settings of an n-D array, in DVID's axis order (dimension 0 fastest): element type, chunk shape, an
/// optional fixed shape, and a name, unit and voxel size per axis.
/// </summary>
public sealed record NdSettings(VoxelType Voxel, int[] ChunkShape, int[]? Shape, string[] AxisNames, string[] AxisUnits, float[] VoxelSize)
{
    public const string VoxelTypeKey = "voxeltype", ChunkKey = "blocksize", ShapeKey = "shape", NamesKey = "axisnames", UnitsKey = "axisunits", VoxelSizeKey = "voxelsize";

    /// <summary>Largest chunk (voxels), as for image blocks.</summary>
    public const long MaxChunkVoxels = ImageBlockType.MaxBlockVoxels;

    /// <summary>Largest chunk in bytes: a chunk is decoded whole into a buffer per core.</summary>
    public const long MaxChunkBytes = 256L << 20;

    private static readonly string[] DefaultNames = ["x", "y", "z", "t", "c", "d5", "d6", "d7"];

    public int Rank => ChunkShape.Length;
    public int BytesPerVoxel => Voxel.BytesPerVoxel();
    public long ChunkVoxels => ChunkShape.Aggregate(1L, (a, b) => a * b);

    public static NdSettings From(InstanceRecord inst)
    {
        var s = inst.Settings;
        var shape = s[ShapeKey];
        return new NdSettings(ParseVoxel(s[VoxelTypeKey]), Ints(s[ChunkKey], "BlockSize"), shape.Length == 0 ? null : Ints(shape, "Shape"),
            s[NamesKey].Split(','), s[UnitsKey].Split(','), s[VoxelSizeKey].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>Validates the creation config of an n-D array (<c>VoxelType</c>, <c>BlockSize</c> and/or <c>Shape</c>,
    /// <c>AxisNames</c>, <c>AxisUnits</c>, <c>VoxelSize</c>) and returns the settings to persist.</summary>
    public static ImmutableSortedDictionary<string, string> Normalize(IReadOnlyDictionary<string, string> config)
    {
        var voxel = config.TryGetValue(VoxelTypeKey, out var vt) ? ParseVoxel(vt) : VoxelType.Uint8;
        int[]? shape = config.TryGetValue(ShapeKey, out var sh) && sh.Trim().Length > 0 ? Ints(sh, "Shape") : null;
        int[] chunk;
        if (config.TryGetValue(ChunkKey, out var cs)) chunk = Ints(cs, "BlockSize");
        else if (shape is not null) chunk = shape.Select((n, d) => d < 3 ? Math.Min(n, 64) : 1).ToArray();
        else throw DatastoreException.BadRequest("an ndarray needs its rank: give Shape (e.g. \"256,256,256,16\") or BlockSize (e.g. \"64,64,64,1\"), x first");
        int rank = chunk.Length;
        if (rank is < 1 or > NdBox.MaxRank) throw DatastoreException.BadRequest($"an ndarray has 1 to {NdBox.MaxRank} dimensions; BlockSize has {rank}");
        if (shape is not null && shape.Length != rank)
            throw DatastoreException.BadRequest($"Shape has {shape.Length} dimensions but BlockSize has {rank}; give one size per dimension in both");
        if (chunk.Aggregate(1L, (a, b) => a * b) > MaxChunkVoxels)
            throw DatastoreException.BadRequest($"BlockSize {string.Join(",", chunk)} has more than {MaxChunkVoxels} voxels per chunk");
        if (chunk.Aggregate((long)voxel.BytesPerVoxel(), (a, b) => a * b) > MaxChunkBytes)
            throw DatastoreException.BadRequest($"BlockSize {string.Join(",", chunk)} of {voxel.DataTypeName()} makes chunks of more than {MaxChunkBytes >> 20} MiB");
        var names = config.TryGetValue(NamesKey, out var n) ? Words(n, rank, "AxisNames") : DefaultNames[..rank];
        if (names.Distinct(StringComparer.Ordinal).Count() != rank) throw DatastoreException.BadRequest($"AxisNames must differ from each other, got \"{n}\"");
        var units = config.TryGetValue(UnitsKey, out var u) ? Words(u, rank, "AxisUnits") : Enumerable.Repeat("pixels", rank).ToArray();
        var sizes = config.TryGetValue(VoxelSizeKey, out var vs) ? Floats(vs, rank) : Enumerable.Repeat(1f, rank).ToArray();
        var b = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        b[VoxelTypeKey] = voxel.DataTypeName();
        b[ChunkKey] = string.Join(",", chunk);
        b[ShapeKey] = shape is null ? "" : string.Join(",", shape);
        b[NamesKey] = string.Join(",", names);
        b[UnitsKey] = string.Join(",", units);
        b[VoxelSizeKey] = ImageSettings.FormatFloats(sizes);
        return b.ToImmutable();
    }

    public static VoxelType ParseVoxel(string text)
    {
        foreach (var v in Enum.GetValues<VoxelType>())
            if (v.DataTypeName() == text.Trim().ToLowerInvariant()) return v;
        throw DatastoreException.BadRequest($"VoxelType must be one of {string.Join(", ", Enum.GetValues<VoxelType>().Select(t => t.DataTypeName()))}; got \"{text}\"");
    }

    /// <summary>Comma-separated positive integers (JSON-style brackets allowed).</summary>
    public static int[] Ints(string text, string name)
    {
        var parts = text.Trim().Trim('[', ']').Split(',');
        var r = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out r[i]) || r[i] <= 0)
                throw DatastoreException.BadRequest($"{name} must be positive integers separated by commas, x first; got \"{text}\"");
        return r;
    }

    private static string[] Words(string text, int rank, string name)
    {
        var w = text.Trim().Trim('[', ']').Split(',').Select(s => s.Trim().Trim('"')).ToArray();
        if (w.Length != rank || w.Any(s => s.Length == 0 || s.Contains(',')))
            throw DatastoreException.BadRequest($"{name} must give {rank} non-empty names separated by commas, got \"{text}\"");
        return w;
    }

    private static float[] Floats(string text, int rank)
    {
        var parts = text.Trim().Trim('[', ']').Split(',');
        if (parts.Length != rank) throw DatastoreException.BadRequest($"VoxelSize must give {rank} numbers, got \"{text}\"");
        var r = new float[rank];
        for (int i = 0; i < rank; i++)
            if (!float.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out r[i]) || !float.IsFinite(r[i]) || r[i] <= 0)
                throw DatastoreException.BadRequest($"VoxelSize must be {rank} positive numbers, got \"{text}\"");
        return r;
    }
}
