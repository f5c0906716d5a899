using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Diced.Codecs;
using Diced.Codecs.Labels;
using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Server.Endpoints.Imageblk;
using Diced.Server.Endpoints.Voxels;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Sparse volumes of labelmap and labelarray: sparsevol (RLE, srles, blocks), HEAD, coarse, by point, size.</summary>
internal static class SparsevolEndpoints
{
    public static void Map(RouteGroupBuilder m)
    {
        m.MapGet("sparsevol/{label}", Sparsevol);
        m.MapMethods("sparsevol/{label}", ["HEAD"], SparsevolExists);
        m.MapMethods("sparsevol-coarse/{label}", DvidRouting.GetAndHead, SparsevolCoarse);
        m.MapMethods("sparsevol-by-point/{coord}", DvidRouting.GetAndHead, SparsevolByPoint);
        m.MapMethods("sparsevol-size/{label}", DvidRouting.GetAndHead, SparsevolSize);
    }

    private static Task Sparsevol(HttpContext http, string label) => SparsevolOf(http, ParseNonZeroLabel(label));

    /// <summary><c>sparsevol-by-point</c>: the sparse volume of the label at a voxel (label 0 is refused).</summary>
    private static async Task SparsevolByPoint(HttpContext http, string coord)
    {
        var p = GeometryStrings.ParsePoint(coord, "coordinate");
        var labels = LabelsOf(http);
        var label = (await labels.LabelsAtAsync([p], Flag(http, "supervoxels"), http.RequestAborted, Scale(http, labels)))[0];
        if (label == 0) throw Reject.BadRequest($"Label 0 is protected background value and cannot be used as sparse volume (voxel {p.X},{p.Y},{p.Z}).");
        await SparsevolOf(http, label);
    }

    private static async Task SparsevolOf(HttpContext http, ulong l)
    {
        var labels = LabelsOf(http);
        int scale = Scale(http, labels);
        var format = http.Request.Query["format"].ToString();
        if (format is not ("" or "rles" or "srles" or "blocks")) throw Reject.BadRequest($"unknown sparsevol format \"{format}\"; use rles, srles or blocks");
        if (format == "blocks")
        {
            var mask = await labels.SparsevolMaskAsync(l, Flag(http, "supervoxels"), scale, http.RequestAborted);
            if (mask is null) { http.Response.StatusCode = StatusCodes.Status404NotFound; return; }
            await VoxelResponses.Send(http, "application/octet-stream", mask);
            return;
        }
        var compression = http.Request.Query["compression"].ToString();
        if (compression is not ("" or "lz4" or "gzip")) throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        bool exact = http.Request.Query["exact"].ToString().ToLowerInvariant() != "false";
        var runs = await labels.SparsevolAsync(l, Flag(http, "supervoxels"), ParseBounds(http), exact, http.RequestAborted, scale);
        if (runs is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        http.Response.ContentType = "application/octet-stream";
        if (runs.Count == 0) return; // the label exists but has nothing in range: 200 with an empty body, as DVID
        var encoded = SparseVolume.EncodeRuns(runs, header: format != "srles");
        if (compression == "lz4") encoded = Lz4Block.Encode(encoded);
        else if (compression == "gzip") encoded = GzipCodec.Compress(encoded);
        await VoxelResponses.Send(http, "application/octet-stream", encoded);
    }

    private static async Task SparsevolExists(HttpContext http, string label)
    {
        var l = ParseNonZeroLabel(label);
        var idx = await LabelsOf(http).IndexOfAsync(l, Flag(http, "supervoxels"), http.RequestAborted);
        var bounds = ParseBounds(http);
        var bs = LabelsOf(http).BlockSize;
        bool any = idx is not null && idx.Blocks.Keys.Any(b => !bounds.BlockOutside(new Box(b.BlockOrigin(bs), bs)));
        http.Response.ContentType = "text/html";
        http.Response.StatusCode = any ? StatusCodes.Status200OK : StatusCodes.Status204NoContent;
    }

    private static async Task SparsevolCoarse(HttpContext http, string label)
    {
        LabelIndex idx;
        try { idx = await RequireIndex(http, label); }
        catch (Datastore.DatastoreException e) when (e.Kind == Datastore.ErrorKind.NotFound)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var bounds = ParseBounds(http);
        var bs = LabelsOf(http).BlockSize;
        var blocks = idx.Blocks.Keys.Where(b => !bounds.BlockOutside(new Box(b.BlockOrigin(bs), bs)))
            .OrderBy(b => b.Z).ThenBy(b => b.Y).ThenBy(b => b.X).ToList();
        var runs = new List<Run>();
        foreach (var b in blocks)
        {
            if (runs.Count > 0 && runs[^1] is var last && last.Y == b.Y && last.Z == b.Z && last.X + last.Length == b.X)
                runs[^1] = last with { Length = last.Length + 1 };
            else runs.Add(new Run(b.X, b.Y, b.Z, 1));
        }
        await VoxelResponses.Send(http, "application/octet-stream", SparseVolume.EncodeRuns(runs));
    }

    private static async Task SparsevolSize(HttpContext http, string label)
    {
        var idx = await RequireIndex(http, label);
        var bs = LabelsOf(http).BlockSize;
        var min = idx.Blocks.Keys.Aggregate(Point3.Min).BlockOrigin(bs);
        var max = (idx.Blocks.Keys.Aggregate(Point3.Max) + new Point3(1, 1, 1)).BlockOrigin(bs) - new Point3(1, 1, 1);
        await SendJson(http, $"{{\"voxels\": {idx.VoxelCount}, \"numblocks\": {idx.Blocks.Count}, \"minvoxel\": [{min.X}, {min.Y}, {min.Z}], \"maxvoxel\": [{max.X}, {max.Y}, {max.Z}]}}");
    }
}
