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

/// <summary>Voxel routes of the label types: raw GET/POST (volumes and 2-D slices), label, labels.</summary>
internal static class LabelVoxelEndpoints
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapMethods("raw/{dims}/{size}/{offset}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, null, o.Value, t));
        g.MapMethods("raw/{dims}/{size}/{offset}/{format}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, string format, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, format, o.Value, t));
        g.MapPost("raw/{dims}/{size}/{offset}", PostRaw);
        g.MapMethods("isotropic/{dims}/{size}/{offset}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, null, o.Value, t, isotropic: true));
        g.MapMethods("isotropic/{dims}/{size}/{offset}/{format}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, string format, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, format, o.Value, t, isotropic: true));
        g.MapMethods("pseudocolor/{dims}/{size}/{offset}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o)
            => Pseudocolor(http, dims, size, offset, null, o.Value));
        g.MapMethods("pseudocolor/{dims}/{size}/{offset}/{format}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, string format, IOptions<DicedOptions> o)
            => Pseudocolor(http, dims, size, offset, format, o.Value));
        g.MapMethods("label/{coord}", DvidRouting.GetAndHead, GetLabel);
        g.MapMethods("labels", DvidRouting.GetAndHead, GetLabels);
        g.MapPost("labels", () => { throw Reject.BadRequest("Batch labels query must be a GET request"); });
    }

    private static async Task GetRaw(HttpContext http, string dims, string size, string offset, string? format, DicedOptions o, Throttle throttle, bool isotropic = false)
    {
        var shape = GeometryStrings.ParseShape(dims);
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var labels = LabelsOf(http);
        int scale = Scale(http, labels);
        VoxelResponses.CheckRequestSize(box, 8, o);
        bool supervoxels = Flag(http, "supervoxels");
        var ct = http.RequestAborted;
        if (shape != DataShape.Volume)
        {
            byte[] voxels;
            if (isotropic)
            {
                var (read, w, h) = IsotropicSlice.ReadBox(shape, box, labels.Volume.Settings.VoxelSize);
                var (dw, dh) = GeometryStrings.SliceSize(shape, box);
                voxels = IsotropicSlice.Resample(await labels.ReadAllAsync(read, supervoxels, ct, scale), w, h, VoxelType.Uint64, labels: true, dw, dh);
            }
            else voxels = await labels.ReadAllAsync(box, supervoxels, ct, scale);
            await VoxelResponses.WriteSlice(http, labels.Volume, shape, box, format ?? "", voxels);
            return;
        }
        if (format is not null) throw Reject.BadRequest($"label volumes cannot be returned as {format}");
        using var slot = throttle.Enter(http);
        await VoxelResponses.SendRawAsync(http, box, 8, labels: true, () => labels.ReadAllAsync(box, supervoxels, ct, scale),
            sink => labels.ReadAsync(box, supervoxels, sink, ct, scale));
    }

    /// <summary><c>pseudocolor</c>: a 2-D slice of bodies coloured as DVID colours them (MurmurHash3 of each label), PNG.</summary>
    private static async Task Pseudocolor(HttpContext http, string dims, string size, string offset, string? format, DicedOptions o)
    {
        var shape = GeometryStrings.ParseShape(dims);
        if (shape == DataShape.Volume) throw Reject.BadRequest("pseudocolor gives 2-D images only; use raw for volumes");
        if (format is not (null or "" or "png")) throw Reject.BadRequest($"pseudocolor images are PNG, not \"{format}\"");
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var labels = LabelsOf(http);
        int scale = Scale(http, labels);
        VoxelResponses.CheckRequestSize(box, 8, o);
        var voxels = await labels.ReadAllAsync(box, supervoxels: false, http.RequestAborted, scale);
        var rgba = Codecs.Images.Pseudocolor.Colorize(MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan()));
        var (w, h) = GeometryStrings.SliceSize(shape, box);
        await VoxelResponses.Send(http, "image/png", Codecs.Images.PngEncoder.Encode(w, h, Codecs.Images.PngPixels.Rgba8, rgba));
    }

    private static async Task PostRaw(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> options, Throttle throttle)
    {
        var o = options.Value;
        var shape = GeometryStrings.ParseShape(dims);
        if (shape != DataShape.Volume) throw Reject.BadRequest("DVID does not permit 2d mutations, only 3d stores");
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var labels = LabelsOf(http);
        if (Scale(http, labels) != 0) throw Reject.BadRequest("voxels can only be written at scale 0; coarser levels are computed from it");
        VoxelResponses.CheckRequestSize(box, 8, o);
        if (box.VoxelCount * 8 > o.MaxBufferedWriteBytes)
            throw Reject.BadRequest($"label writes are limited to {o.MaxBufferedWriteBytes} bytes per request; split the volume");
        using var slot = throttle.Enter(http);
        var voxels = await VoxelBodies.ReadAsync(http, box, 8, o, allowGzip: true);
        await labels.WriteAsync(box, voxels, http.RequestAborted);
    }

    private static async Task GetLabel(HttpContext http, string coord)
    {
        var p = GeometryStrings.ParsePoint(coord, "coordinate");
        var labels = LabelsOf(http);
        var label = (await labels.LabelsAtAsync([p], Flag(http, "supervoxels"), http.RequestAborted, Scale(http, labels)))[0];
        await SendJson(http, $"{{\"Label\": {label}}}");
    }

    private static async Task GetLabels(HttpContext http, IOptions<DicedOptions> o)
    {
        var volume = LabelsOf(http);
        int scale = Scale(http, volume);
        var body = await ReadJsonBody(http, o.Value);
        using var doc = JsonBody.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Reject.BadRequest("labels needs a JSON array of [x,y,z] coordinates");
        var points = new List<Point3>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 3 || e.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.Number || !c.TryGetInt32(out _)))
                throw Reject.BadRequest($"labels coordinates must be [x,y,z] integer triples, got {e.GetRawText()}");
            points.Add(new Point3(e[0].GetInt32(), e[1].GetInt32(), e[2].GetInt32()));
        }
        var labels = await volume.LabelsAtAsync(points, Flag(http, "supervoxels"), http.RequestAborted, scale);
        await SendJson(http, "[" + string.Join(",", labels) + "]");
    }
}
