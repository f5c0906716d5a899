using System.Collections.Immutable;
using System.Globalization;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>The typed settings of a block-stored volume (image types, and later label types), read from an instance's settings.</summary>
public sealed record ImageSettings(Point3 BlockSize, float[] VoxelSize, string[] VoxelUnits, byte Background)
{
    public const string BlockSizeKey = "blocksize", VoxelSizeKey = "voxelsize", VoxelUnitsKey = "voxelunits", BackgroundKey = "background";

    public int BlockVoxels => BlockSize.X * BlockSize.Y * BlockSize.Z;

    public static ImageSettings From(InstanceRecord inst)
    {
        var s = inst.Settings;
        return new ImageSettings(
            ParseBlockSize(s[BlockSizeKey]),
            ParseFloats(s[VoxelSizeKey], VoxelSizeKey),
            s[VoxelUnitsKey].Split(','),
            byte.Parse(s[BackgroundKey], CultureInfo.InvariantCulture));
    }

    /// <summary>Validates and normalises the creation config of a block volume.</summary>
    public static ImmutableSortedDictionary<string, string> Normalize(IReadOnlyDictionary<string, string> config, Point3 defaultBlockSize, long maxBlockVoxels)
    {
        var b = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var blockSize = config.TryGetValue(BlockSizeKey, out var bs) ? ParseBlockSize(bs) : defaultBlockSize;
        if (blockSize.Product > maxBlockVoxels)
            throw DatastoreException.BadRequest($"BlockSize {blockSize.X},{blockSize.Y},{blockSize.Z} has more than {maxBlockVoxels} voxels per block");
        b[BlockSizeKey] = $"{blockSize.X},{blockSize.Y},{blockSize.Z}";
        var voxelSize = config.TryGetValue(VoxelSizeKey, out var vs) ? ParseFloats(vs, "VoxelSize") : [8f, 8f, 8f];
        b[VoxelSizeKey] = FormatFloats(voxelSize);
        var units = config.TryGetValue(VoxelUnitsKey, out var vu) ? vu.Split(',').Select(u => u.Trim()).ToArray() : ["nanometers", "nanometers", "nanometers"];
        if (units.Length == 1) units = [units[0], units[0], units[0]];
        if (units.Length != 3 || units.Any(u => u.Length == 0))
            throw DatastoreException.BadRequest($"VoxelUnits must name 3 units, got \"{vu}\"");
        b[VoxelUnitsKey] = string.Join(",", units);
        byte background = 0;
        if (config.TryGetValue(BackgroundKey, out var bg) && !byte.TryParse(bg.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out background))
            throw DatastoreException.BadRequest($"Background must be an integer 0-255, got \"{bg}\"");
        b[BackgroundKey] = background.ToString(CultureInfo.InvariantCulture);
        return b.ToImmutable();
    }

    /// <summary>Parses <c>"X,Y,Z"</c> or <c>"X,Y"</c> (Z = 1): positive integers.</summary>
    public static Point3 ParseBlockSize(string text)
    {
        var parts = text.Split(',');
        if (parts.Length is < 2 or > 3)
            throw DatastoreException.BadRequest($"BlockSize must be \"X,Y,Z\" or \"X,Y\", got \"{text}\"");
        var dims = new int[3] { 1, 1, 1 };
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] <= 0)
                throw DatastoreException.BadRequest($"BlockSize must be positive integers, got \"{text}\"");
        }
        return new Point3(dims[0], dims[1], dims[2]);
    }

    public static float[] ParseFloats(string text, string name)
    {
        var parts = text.Split(',');
        if (parts.Length == 1) parts = [parts[0], parts[0], parts[0]];
        if (parts.Length != 3) throw DatastoreException.BadRequest($"{name} must be 3 numbers, got \"{text}\"");
        var r = new float[3];
        for (int i = 0; i < 3; i++)
        {
            if (!float.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out r[i]) || !float.IsFinite(r[i]) || r[i] <= 0)
                throw DatastoreException.BadRequest($"{name} must be 3 positive numbers, got \"{text}\"");
        }
        return r;
    }

    public static string FormatFloats(IEnumerable<float> xs) => string.Join(",", xs.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
}
