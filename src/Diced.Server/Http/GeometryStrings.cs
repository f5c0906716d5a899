using System.Globalization;
using Diced.Datastore.Geometry;

namespace Diced.Server.Http;

/// <summary>The shape named by a <c>{dims}</c> path segment (§7.1).</summary>
public enum DataShape { XY, XZ, YZ, Volume }

/// <summary>Parsers for DVID's geometry path segments: dims, sizes and offsets (§7.1, §7.2).</summary>
public static class GeometryStrings
{
    public static DataShape ParseShape(string s) => s.ToLowerInvariant() switch
    {
        "0_1" or "0,1" or "xy" => DataShape.XY,
        "0_2" or "0,2" or "xz" => DataShape.XZ,
        "1_2" or "1,2" or "yz" => DataShape.YZ,
        "0_1_2" or "0,1,2" or "vol" => DataShape.Volume,
        _ => throw Reject.BadRequest($"Unknown data shape specification ({s})"),
    };

    /// <summary>Parses <paramref name="count"/> underscore-separated int32s (spaces allowed around each).</summary>
    public static int[] ParseInts(string s, int count, string what)
    {
        var parts = s.Split('_');
        if (parts.Length != count)
            throw Reject.BadRequest($"{what} \"{s}\" must have {count} underscore-separated integers");
        var r = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (!int.TryParse(parts[i].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out r[i]))
                throw Reject.BadRequest($"{what} \"{s}\" must have {count} underscore-separated integers");
        }
        return r;
    }

    public static Point3 ParsePoint(string s, string what = "offset")
    {
        var v = ParseInts(s, 3, what);
        return new Point3(v[0], v[1], v[2]);
    }

    /// <summary>A size: every dimension a positive integer.</summary>
    public static int[] ParseSize(string s, int count)
    {
        var v = ParseInts(s, count, "size");
        if (v.Any(x => x <= 0)) throw Reject.BadRequest($"size \"{s}\" must be positive in every dimension");
        return v;
    }

    /// <summary>The 3-D box a request addresses; 2-D slices are one voxel thick along their third axis.</summary>
    public static Box ParseBox(DataShape shape, string size, string offset)
    {
        var o = ParsePoint(offset);
        Point3 s = shape switch
        {
            DataShape.Volume => ToPoint(ParseSize(size, 3)),
            DataShape.XY => ToPoint([.. ParseSize(size, 2), 1]),
            DataShape.XZ => SliceXZ(ParseSize(size, 2)),
            _ => SliceYZ(ParseSize(size, 2)),
        };
        if ((long)o.X + s.X - 1 > int.MaxValue || (long)o.Y + s.Y - 1 > int.MaxValue || (long)o.Z + s.Z - 1 > int.MaxValue)
            throw Reject.BadRequest($"box at {offset} of size {size} extends past the coordinate range");
        return new Box(o, s);

        static Point3 ToPoint(int[] v) => new(v[0], v[1], v[2]);
        static Point3 SliceXZ(int[] v) => new(v[0], 1, v[1]);
        static Point3 SliceYZ(int[] v) => new(1, v[0], v[1]);
    }

    /// <summary>(width, height) of a 2-D slice box.</summary>
    public static (int Width, int Height) SliceSize(DataShape shape, Box box) => shape switch
    {
        DataShape.XY => (box.Size.X, box.Size.Y),
        DataShape.XZ => (box.Size.X, box.Size.Z),
        DataShape.YZ => (box.Size.Y, box.Size.Z),
        _ => (box.Size.X, box.Size.Y * box.Size.Z),
    };
}
