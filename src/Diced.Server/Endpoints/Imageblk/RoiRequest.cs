using Diced.Datastore.Types.Roi;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary><c>roi=&lt;name&gt;</c> and <c>attenuation=</c> on voxel requests, parsed into the data model's <see cref="RoiMask"/>.</summary>
public static class RoiRequest
{
    /// <summary>The mask a request asks for, or null when it names no ROI.</summary>
    public static async Task<RoiMask?> ParseAsync(HttpContext http, InstanceContext ctx, bool uint8)
    {
        var name = http.Request.Query["roi"].ToString();
        if (name.Length == 0) return null;
        int attenuation = 0;
        var a = http.Request.Query["attenuation"].ToString();
        if (a.Length > 0)
        {
            if (!uint8) throw Reject.BadRequest("attenuation applies only to uint8 volumes");
            if (!int.TryParse(a, out attenuation) || attenuation is < 1 or > 7) throw Reject.BadRequest("attenuation must be an integer from 1 to 7");
        }
        return await RoiMask.LoadAsync(ctx.Store, ctx.Version, name, attenuation, http.RequestAborted);
    }
}
