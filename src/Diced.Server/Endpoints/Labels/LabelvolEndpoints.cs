using System.Globalization;
using System.Text.Json;
using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Endpoints.Voxels;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>
/// Routes only labelvol has: sync, POST info, resync and DELETE area. Its sparse volumes, labels and mutations are
/// mapped with labelmap's and labelarray's (<see cref="LabelEndpoints"/>) and act on the labelblk it views.
/// </summary>
public static class LabelvolEndpoints
{
    internal static void Map(RouteGroupBuilder labelvol)
    {
        labelvol.MapSync();
        labelvol.MapPost("info", PostInfo);
        labelvol.MapPost("resync/{label}", Resync);
        labelvol.MapDelete("area/{label}/{size}/{offset}", DeleteArea);
    }

    /// <summary>labelvol's <c>info</c>: DVID's <c>Extended</c> (Resolution, BlockSize, MaxLabel per version, MaxRepoLabel).</summary>
    public static void RegisterInfo(InstanceInfoWriters writers)
        => writers.Register("labelvol", async (w, ctx, ct) =>
        {
            var s = ImageSettings.From(ctx.Instance);
            w.WriteStartObject("Extended");
            w.WriteStartObject("Resolution");
            w.WriteStartArray("VoxelSize");
            foreach (var v in s.VoxelSize) w.WriteNumberValue(v);
            w.WriteEndArray();
            RepoJson.WriteStrings(w, "VoxelUnits", s.VoxelUnits);
            w.WriteEndObject();
            w.WriteStartArray("BlockSize");
            w.WriteNumberValue(s.BlockSize.X);
            w.WriteNumberValue(s.BlockSize.Y);
            w.WriteNumberValue(s.BlockSize.Z);
            w.WriteEndArray();
            w.WriteStartObject("MaxLabel");
            ulong repoMax = 0;
            try
            {
                var labels = ctx.Labels();
                if (labels.Indexed && await labels.MaxLabelAsync(ct) is { } max)
                    w.WriteNumber(ctx.Data.WriteVersion.ToString(CultureInfo.InvariantCulture), max);
                repoMax = await labels.NextLabelAsync(ct) - 1;
            }
            catch (Datastore.DatastoreException) { /* not synced with a labelblk yet: no labels */ }
            w.WriteEndObject();
            w.WriteNumber("MaxRepoLabel", repoMax);
            w.WriteEndObject();
        });

    /// <summary><c>POST info</c>: VoxelSize and VoxelUnits (BlockSize follows the labelblk and cannot change).</summary>
    private static async Task PostInfo(HttpContext http, IOptions<DicedOptions> o)
    {
        var ctx = http.Instance();
        var config = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var (settings, extents) = VolumeConfig.Apply(ctx.Instance, config, null, hasData: false);
        if (extents is not null) throw Reject.BadRequest("a labelvol has no extents of its own; set them on its labelblk");
        await ctx.Store.UpdateInstanceAsync(ctx.Version.Repo, ctx.Instance.Name, inst => inst with { Settings = settings }, http.RequestAborted);
    }

    /// <summary><c>POST resync/&lt;label&gt;</c>: a block-coordinate sparse volume; the label is recounted there from the voxels.</summary>
    private static async Task Resync(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var l = ParseNonZeroLabel(label);
        var runs = SparseVolume.ParseRuns(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        await LabelsOf(http).ResyncAsync(l, runs, http.RequestAborted);
    }

    /// <summary><c>DELETE area/&lt;label&gt;/&lt;size&gt;/&lt;offset&gt;</c>: the label's voxels in that box become 0.</summary>
    private static async Task DeleteArea(HttpContext http, string label, string size, string offset)
    {
        var l = ParseNonZeroLabel(label);
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        await LabelsOf(http).EraseAreaAsync(l, box, http.RequestAborted);
    }
}
