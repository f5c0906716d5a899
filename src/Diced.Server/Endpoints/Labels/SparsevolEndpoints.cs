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
    public static void Map(LabelEndpoints.LabelRouteGroups g)
    {
        g.Sparse.MapGet("sparsevol/{label}", Sparsevol);
        g.Sparse.MapMethods("sparsevol/{label}", ["HEAD"], SparsevolExists);
        g.Sparse.MapMethods("sparsevol-coarse/{label}", DvidRouting.GetAndHead, SparsevolCoarse);
        g.Sparse.MapMethods("sparsevol-by-point/{coord}", DvidRouting.GetAndHead, SparsevolByPoint);
        g.Indexed.MapMethods("sparsevol-size/{label}", DvidRouting.GetAndHead, SparsevolSize);
        g.Indexed.MapMethods("sparsevols-coarse/{start}/{end}", DvidRouting.GetAndHead, SparsevolsCoarse);
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
        var runs = LabelsOf(http).CoarseRuns(idx, ParseBounds(http)).Select(r => new Run(r.Block.X, r.Block.Y, r.Block.Z, r.Length)).ToList();
        await VoxelResponses.Send(http, "application/octet-stream", SparseVolume.EncodeRuns(runs));
    }

    /// <summary>
    /// <c>sparsevols-coarse/&lt;start&gt;/&lt;end&gt;</c>: for each label with an index in the range, <c>uint64 label</c>,
    /// <c>int32</c> run count, then runs of blocks along x as <c>int32 bx, by, bz, length</c> (no RLE header).
    /// </summary>
    private static async Task SparsevolsCoarse(HttpContext http, string start, string end)
    {
        ulong first = ParseNonZeroLabel(start), last = ParseNonZeroLabel(end);
        if (last < first) throw Reject.BadRequest($"sparsevols-coarse needs start <= end, got {first} and {last}");
        var labels = LabelsOf(http);
        var bounds = ParseBounds(http);
        http.Response.ContentType = "application/octet-stream";
        var pipe = http.Response.BodyWriter;
        await foreach (var (label, runs) in labels.CoarseVolumesAsync(first, last, bounds, http.RequestAborted))
        {
            var rec = pipe.GetSpan(12 + 16 * runs.Count);
            BinaryPrimitives.WriteUInt64LittleEndian(rec, label);
            BinaryPrimitives.WriteInt32LittleEndian(rec[8..], runs.Count);
            int at = 12;
            foreach (var (b, n) in runs)
            {
                BinaryPrimitives.WriteInt32LittleEndian(rec[at..], b.X);
                BinaryPrimitives.WriteInt32LittleEndian(rec[(at + 4)..], b.Y);
                BinaryPrimitives.WriteInt32LittleEndian(rec[(at + 8)..], b.Z);
                BinaryPrimitives.WriteInt32LittleEndian(rec[(at + 12)..], n);
                at += 16;
            }
            pipe.Advance(at);
            if (pipe.UnflushedBytes > 1 << 20) await pipe.FlushAsync(http.RequestAborted);
        }
        await pipe.FlushAsync(http.RequestAborted);
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
