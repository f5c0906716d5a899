using System.Globalization;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary><c>POST …/downres/{level}/{size}/{offset}</c>: rebuilds pyramid blocks of image types above a level-0 box.</summary>
public static class PyramidEndpoints
{
    /// <summary>Most blocks one request may rebuild (the CLI sends a layer of blocks at a time).</summary>
    public const int MaxBlocksPerRequest = 4096;

    public static void MapPyramidEndpoints(this RouteGroupBuilder g) => g.MapPost("downres/{level}/{size}/{offset}", Downres);

    private static async Task Downres(HttpContext http, string level, string size, string offset)
    {
        var vol = http.Instance().Volume();
        if (vol.Pyramid is not { } pyramid)
            throw Reject.BadRequest($"\"{vol.Data.Instance.Name}\" keeps no pyramid; set MaxDownresLevel (POST …/info) first");
        if (!int.TryParse(level, NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k < 1 || k > pyramid.MaxLevel)
            throw Reject.BadRequest($"level \"{level}\" must be 1 to {pyramid.MaxLevel} (MaxDownresLevel of \"{vol.Data.Instance.Name}\")");
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        // The box at level k (each voxel halved k times), and its blocks there.
        Point3 Down(Point3 p) => new(p.X >> k, p.Y >> k, p.Z >> k);
        var (lo, hi) = (Down(box.Offset), Down(box.Last));
        var atLevel = new Box(lo, hi - lo + new Point3(1, 1, 1));
        var (first, last) = (atLevel.FirstBlock(vol.BlockSize), atLevel.LastBlock(vol.BlockSize));
        long count = (long)(last.X - first.X + 1) * (last.Y - first.Y + 1) * (last.Z - first.Z + 1);
        if (count > MaxBlocksPerRequest)
            throw Reject.BadRequest($"the box covers {count} blocks of level {k}; rebuild at most {MaxBlocksPerRequest} per request");
        int n = await pyramid.RebuildAsync(k, vol.BlocksOf(atLevel), http.RequestAborted);
        await Json.DvidJson.WriteRawAsync(http, $"{{\"Level\": {k}, \"Blocks\": {n}}}");
    }
}
