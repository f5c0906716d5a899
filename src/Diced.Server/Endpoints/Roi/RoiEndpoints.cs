using System.Text.Json;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Roi;
using Diced.Server.Endpoints.Voxels;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Roi;

/// <summary>The <c>roi</c> type's routes (§12): spans, point queries, masks and partitions.</summary>
public static class RoiEndpoints
{
    public static void MapRoiEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType("roi");
        g.MapMethods("roi", DvidRouting.GetAndHead, GetRoi);
        g.MapPost("roi", PostRoi);
        g.MapDelete("roi", (HttpContext http) => new RoiData(http.Instance().Data).DeleteAsync(http.RequestAborted).AsTask());
        g.MapPost("ptquery", PointQuery).AllowOnLockedNode();
        g.MapMethods("mask/{dims}/{size}/{offset}", DvidRouting.GetAndHead, Mask);
        g.MapMethods("partition", DvidRouting.GetAndHead, Partition);
        g.MapMethods("erode/{size}", DvidRouting.GetAndHead, Erode);
    }

    public static void RegisterRoiInfo(InstanceInfoWriters writers)
        => writers.Register("roi", async (w, ctx, ct) =>
        {
            var roi = new RoiData(ctx.Data);
            var spans = await roi.GetSpansAsync(ct);
            w.WriteStartObject("Extended");
            w.WriteStartArray("BlockSize");
            w.WriteNumberValue(roi.BlockSize.X);
            w.WriteNumberValue(roi.BlockSize.Y);
            w.WriteNumberValue(roi.BlockSize.Z);
            w.WriteEndArray();
            w.WriteNumber("MinZ", spans.Length == 0 ? int.MaxValue : spans.Min(s => s.Z));
            w.WriteNumber("MaxZ", spans.Length == 0 ? int.MinValue : spans.Max(s => s.Z));
            w.WriteEndObject();
        });

    private static async Task GetRoi(HttpContext http)
        => await WriteSpans(http, await new RoiData(http.Instance().Data).GetSpansAsync(http.RequestAborted));

    /// <summary><c>GET erode/&lt;element size&gt;</c>: the ROI eroded by a cube reaching that many blocks along each axis.</summary>
    private static async Task Erode(HttpContext http, string size)
    {
        if (!int.TryParse(size, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
            throw Reject.BadRequest($"erode needs a structuring element size in blocks (0 or more), got \"{size}\"");
        var spans = await new RoiData(http.Instance().Data).GetSpansAsync(http.RequestAborted);
        await WriteSpans(http, RoiErosion.Erode(spans, n));
    }

    private static Task WriteSpans(HttpContext http, IReadOnlyList<RoiSpan> spans)
        => DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartArray();
            foreach (var s in spans)
            {
                w.WriteStartArray();
                w.WriteNumberValue(s.Z);
                w.WriteNumberValue(s.Y);
                w.WriteNumberValue(s.X0);
                w.WriteNumberValue(s.X1);
                w.WriteEndArray();
            }
            w.WriteEndArray();
        });

    /// <summary>Reads a JSON array of integer arrays of length <paramref name="width"/>.</summary>
    private static List<int[]> ReadTuples(byte[] body, int width, string what)
    {
        using var doc = JsonBody.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Reject.BadRequest($"expected a JSON array of {what}");
        var list = new List<int[]>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != width || e.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out _)))
                throw Reject.BadRequest($"each of the {what} must be an array of {width} integers; got {e.GetRawText()}");
            list.Add(e.EnumerateArray().Select(v => v.GetInt32()).ToArray());
        }
        return list;
    }

    private static async Task PostRoi(HttpContext http, IOptions<DicedOptions> o)
    {
        var data = new RoiData(http.Instance().Data);
        var tuples = ReadTuples(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), 4, "spans [z, y, x0, x1]");
        var spans = tuples.Select(t => new RoiSpan(t[0], t[1], t[2], t[3])).ToList();
        if (spans.FirstOrDefault(s => s.X1 < s.X0) is { X1: var x1, X0: var x0 } bad && x1 < x0)
            throw Reject.BadRequest($"span [{bad.Z}, {bad.Y}, {bad.X0}, {bad.X1}] ends before it starts");
        await data.SetSpansAsync(spans, http.RequestAborted);
    }

    private static async Task PointQuery(HttpContext http, IOptions<DicedOptions> o)
    {
        var points = ReadTuples(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), 3, "points [x, y, z]");
        var index = await new RoiData(http.Instance().Data).IndexAsync(http.RequestAborted);
        await DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartArray();
            foreach (var p in points) w.WriteBooleanValue(index.ContainsVoxel(new Point3(p[0], p[1], p[2])));
            w.WriteEndArray();
        });
    }

    private static async Task Mask(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o)
    {
        if (GeometryStrings.ParseShape(dims) != DataShape.Volume) throw Reject.BadRequest("Currently only 3d masks ('0_1_2' shape) is supported");
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        Voxels.VoxelResponses.CheckRequestSize(box, 1, o.Value);
        var index = await new RoiData(http.Instance().Data).IndexAsync(http.RequestAborted);
        http.Response.ContentType = "application/octet-stream";
        http.Response.ContentLength = box.VoxelCount;
        // Stream in slabs of whole z-planes, about 16 MiB at a time.
        int planes = (int)Math.Clamp((16L << 20) / ((long)box.Size.X * box.Size.Y), 1, box.Size.Z);
        var buffer = new byte[(long)box.Size.X * box.Size.Y * planes];
        for (int z = 0; z < box.Size.Z; z += planes)
        {
            int n = Math.Min(planes, box.Size.Z - z);
            var slab = new Box(box.Offset with { Z = box.Offset.Z + z }, box.Size with { Z = n });
            int bytes = (int)slab.VoxelCount;
            index.FillMask(slab, buffer.AsSpan(0, bytes));
            await http.Response.Body.WriteAsync(buffer.AsMemory(0, bytes), http.RequestAborted);
        }
    }

    private static async Task Partition(HttpContext http)
    {
        if (!int.TryParse(http.Request.Query["batchsize"], out var batch) || batch <= 0)
            throw Reject.BadRequest("Error reading batchsize query string: batchsize must be a positive integer");
        var roi = new RoiData(http.Instance().Data);
        var result = RoiPartition.Compute(await roi.GetSpansAsync(http.RequestAborted), roi.BlockSize, batch);
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(result, RoiPartition.Json), http.RequestAborted);
    }
}

/// <summary>DVID's simple ROI partition: fixed subvolumes of batchsize³ blocks, centred over the ROI layer by layer.</summary>
public static class RoiPartition
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, IndentSize = 4 };

    public sealed record Chunks(int[] MinChunk, int[] MaxChunk);
    public sealed record Subvolume(int[] MinPoint, int[] MaxPoint, int[] MinChunk, int[] MaxChunk, long TotalBlocks, long ActiveBlocks);
    public sealed record Result(long NumTotalBlocks, long NumActiveBlocks, int NumSubvolumes, Chunks ROI, List<Subvolume> Subvolumes);

    public static Result Compute(IReadOnlyList<RoiSpan> spans, Point3 bs, int batch)
    {
        var subvolumes = new List<Subvolume>();
        long total = 0, active = 0;
        if (spans.Count == 0) return new Result(0, 0, 0, new Chunks([0, 0, 0], [0, 0, 0]), subvolumes);
        int minZ = spans.Min(s => s.Z), maxZ = spans.Max(s => s.Z);
        int begZ = minZ - (maxZ - minZ + 1) % batch / 2;
        foreach (var layer in spans.GroupBy(s => (int)Math.Floor((s.Z - (double)begZ) / batch)).OrderBy(g => g.Key))
        {
            int z0 = begZ + layer.Key * batch, z1 = z0 + batch - 1;
            var layerSpans = layer.ToList();
            int minY = layerSpans.Min(s => s.Y), maxY = layerSpans.Max(s => s.Y);
            int yLeft = (maxY - minY + 1) % batch;
            int begY = minY - yLeft / 2, endY = maxY + (yLeft - yLeft / 2);
            for (int y0 = begY; y0 <= endY; y0 += batch)
            {
                int y1 = y0 + batch - 1;
                var row = layerSpans.Where(s => s.Y >= y0 && s.Y <= y1).ToList();
                if (row.Count == 0) continue;
                int minX = row.Min(s => s.X0), maxX = row.Max(s => s.X1);
                int xLeft = (maxX - minX + 1) % batch;
                int begX = minX - xLeft / 2, endX = maxX + (xLeft - xLeft / 2);
                for (int x0 = begX; x0 <= endX; x0 += batch)
                {
                    int x1 = x0 + batch - 1;
                    long n = (long)batch * batch * batch;
                    long a = row.Sum(s => (long)Math.Max(0, Math.Min(x1, s.X1) - Math.Max(x0, s.X0) + 1));
                    if (a > 0)
                        subvolumes.Add(new Subvolume(
                            [x0 * bs.X, y0 * bs.Y, z0 * bs.Z], [(x1 + 1) * bs.X - 1, (y1 + 1) * bs.Y - 1, (z1 + 1) * bs.Z - 1],
                            [x0, y0, z0], [x1, y1, z1], n, a));
                    total += n;
                    active += a;
                }
            }
        }
        var roi = new Chunks([spans.Min(s => s.X0), spans.Min(s => s.Y), minZ], [spans.Max(s => s.X1), spans.Max(s => s.Y), maxZ]);
        return new Result(total, active, subvolumes.Count, roi, subvolumes);
    }
}
