using System.Globalization;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Endpoints.Voxels;
using Diced.Server.Http;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary>
/// <c>GET arb/&lt;top left&gt;/&lt;top right&gt;/&lt;bottom left&gt;/&lt;res&gt;[/&lt;format&gt;]</c>: an arbitrarily oriented
/// plane of a uint8 volume; corners are physical points written <c>x_y_z</c> (e.g. <c>20.3_11.8_109.4</c>).
/// </summary>
internal static class ArbitraryPlane
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapMethods("arb/{tl}/{tr}/{bl}/{res}", DvidRouting.GetAndHead, (HttpContext http, string tl, string tr, string bl, string res, IOptions<DicedOptions> o, Throttle t)
            => Get(http, tl, tr, bl, res, "", o.Value, t));
        g.MapMethods("arb/{tl}/{tr}/{bl}/{res}/{format}", DvidRouting.GetAndHead, (HttpContext http, string tl, string tr, string bl, string res, string format, IOptions<DicedOptions> o, Throttle t)
            => Get(http, tl, tr, bl, res, format, o.Value, t));
    }

    private static async Task Get(HttpContext http, string tl, string tr, string bl, string res, string format, DicedOptions o, Throttle throttle)
    {
        var plane = new ArbitrarySlice(Point(tl, "top left"), Point(tr, "top right"), Point(bl, "bottom left"), Number(res, "resolution"));
        if (plane.PixelCount > o.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({plane.PixelCount} bytes) exceeds this DVID server's set limit ({o.MaxDataRequestBytes})");
        var vol = http.Instance().Volume();
        using var slot = throttle.Enter(http);
        var pixels = await plane.SampleAsync(vol, http.RequestAborted);
        await VoxelResponses.WriteImage(http, vol.Voxel, plane.Width, plane.Height, format, pixels);
    }

    private static double[] Point(string text, string what)
    {
        var parts = text.Split('_');
        if (parts.Length != 3) throw Reject.BadRequest($"arb {what} corner must be \"x_y_z\" (e.g. 20.3_11.8_109.4), got \"{text}\"");
        return [Number(parts[0], what), Number(parts[1], what), Number(parts[2], what)];
    }

    private static double Number(string text, string what)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v : throw Reject.BadRequest($"arb {what} \"{text}\" is not a number");
}
