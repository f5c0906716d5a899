using System.Collections.Immutable;
using System.Globalization;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Labels;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>
/// DVID's <c>POST …/info</c> on volume types (<c>modifyConfig</c>): changes voxel size and units, background, extents
/// and, for labels, the pyramid's depth. Keys are case-insensitive, values strings, unknown keys ignored (as DVID).
/// What would leave stored blocks unreadable or a pyramid half-made is refused instead of half-done.
/// </summary>
public static class VolumeConfig
{
    /// <summary>The instance's settings after applying <paramref name="config"/>, and the extents it asks for (if any).</summary>
    public static (ImmutableSortedDictionary<string, string> Settings, Extents? Extents) Apply(InstanceRecord inst, IReadOnlyDictionary<string, string> config,
        Extents? current, bool hasData)
    {
        var s = inst.Settings.ToBuilder();
        var settings = ImageSettings.From(inst);
        foreach (var (key, value) in config)
        {
            switch (key)
            {
                case ImageSettings.BlockSizeKey:
                    var bs = ImageSettings.ParseBlockSize(value);
                    if (bs != settings.BlockSize)
                        throw DatastoreException.BadRequest($"BlockSize cannot change from {settings.BlockSize.X},{settings.BlockSize.Y},{settings.BlockSize.Z}: blocks are stored by it");
                    break;
                case ImageSettings.VoxelSizeKey:
                    s[key] = ImageSettings.FormatFloats(ImageSettings.ParseFloats(value, "VoxelSize"));
                    break;
                case ImageSettings.VoxelUnitsKey:
                    var units = value.Split(',').Select(u => u.Trim()).ToArray();
                    if (units.Length == 1) units = [units[0], units[0], units[0]];
                    if (units.Length != 3 || units.Any(u => u.Length == 0)) throw DatastoreException.BadRequest($"VoxelUnits must name 3 units, got \"{value}\"");
                    s[key] = string.Join(",", units);
                    break;
                case ImageSettings.BackgroundKey:
                    if (!byte.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var bg))
                        throw DatastoreException.BadRequest($"Background must be an integer 0-255, got \"{value}\"");
                    s[key] = bg.ToString(CultureInfo.InvariantCulture);
                    break;
                case ImagePyramid.MaxDownresKey when ImageBlockType.IsImageType(inst.TypeName):
                    int want = ImageBlockType.ParseMaxDownres(value), had = ImagePyramid.MaxLevelOf(inst);
                    if (want < had && hasData)
                        throw DatastoreException.BadRequest($"MaxDownresLevel cannot fall from {had} once data is written: the dropped levels would hold stale data if raised again");
                    if (want > 0) ImagePyramid.CheckBlockSize(settings.BlockSize, ImageBlockType.VoxelOf(inst.TypeName).BytesPerVoxel());
                    s[key] = want.ToString(CultureInfo.InvariantCulture);
                    break;
                case LabelType.MaxDownresKey when inst.Settings.ContainsKey(LabelType.MaxDownresKey):
                    if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var levels) || levels > 10)
                        throw DatastoreException.BadRequest($"MaxDownresLevel must be an integer 0-10, got \"{value}\"");
                    int now = int.Parse(inst.Settings[LabelType.MaxDownresKey], CultureInfo.InvariantCulture);
                    if (levels > now && hasData)
                        throw DatastoreException.BadRequest($"MaxDownresLevel cannot rise from {now} once data is written: the new levels would be empty (write the data again into a new instance)");
                    s[key] = levels.ToString(CultureInfo.InvariantCulture);
                    break;
                case "scalelevel":
                    if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var scaleLevel))
                        throw DatastoreException.BadRequest($"ScaleLevel must be a non-negative integer, got \"{value}\"");
                    s[key] = scaleLevel.ToString(CultureInfo.InvariantCulture);
                    break;
                case "gridstore":
                    throw DatastoreException.BadRequest("GridStore (precomputed stores) is not supported by this server");
            }
        }
        Extents? extents = null;
        if (config.TryGetValue("minpoint", out var min) | config.TryGetValue("maxpoint", out var max))
        {
            var lo = min is null ? current?.MinPoint : ParsePoint(min, "MinPoint");
            var hi = max is null ? current?.MaxPoint : ParsePoint(max, "MaxPoint");
            if (lo is null || hi is null) throw DatastoreException.BadRequest("MinPoint and MaxPoint must both be given when there are no extents yet");
            if (hi.Value.X < lo.Value.X || hi.Value.Y < lo.Value.Y || hi.Value.Z < lo.Value.Z)
                throw DatastoreException.BadRequest("MaxPoint must not be below MinPoint on any axis");
            extents = new Extents(lo.Value, hi.Value);
        }
        return (s.ToImmutable(), extents);
    }

    private static Point3 ParsePoint(string text, string name)
    {
        var parts = text.Trim('[', ']', ' ').Split(',');
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            throw DatastoreException.BadRequest($"{name} must be 3 integers \"x,y,z\", got \"{text}\"");
        var v = parts.Select(p => int.Parse(p.Trim(), CultureInfo.InvariantCulture)).ToArray();
        return new Point3(v[0], v[1], v[2]);
    }
}
