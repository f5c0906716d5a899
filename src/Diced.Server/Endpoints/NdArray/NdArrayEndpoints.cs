using System.Globalization;
using System.Text.Json;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.NdArray;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.NdArray;

/// <summary>Routes of the <c>ndarray</c> type: n-D raw GET/POST in DVID's <c>raw/{dims}/{size}/{offset}</c> form, and info.</summary>
public static class NdArrayEndpoints
{
    public static void MapNdArrayEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType(NdArrayType.TypeName);
        g.MapMethods("raw/{dims}/{size}/{offset}", DvidRouting.GetAndHead, GetRaw);
        g.MapPost("raw/{dims}/{size}/{offset}", PostRaw);
    }

    private static Datastore.Types.NdArray.NdArray Array(this InstanceContext ctx) => ctx.Store.NdArrayOf(ctx.Data);

    public static void RegisterInfo(InstanceInfoWriters writers)
        => writers.Register(NdArrayType.TypeName, async (w, ctx, ct) =>
        {
            var arr = ctx.Array();
            var s = arr.Settings;
            var extents = await arr.GetExtentsAsync(ct);
            w.WriteStartObject("Extended");
            w.WriteString("VoxelType", s.Voxel.DataTypeName());
            w.WriteNumber("Rank", s.Rank);
            WriteInts(w, "Shape", s.Shape);
            WriteInts(w, "BlockSize", s.ChunkShape);
            RepoJson.WriteStrings(w, "AxisNames", s.AxisNames);
            RepoJson.WriteStrings(w, "AxisUnits", s.AxisUnits);
            w.WriteStartArray("VoxelSize");
            foreach (var v in s.VoxelSize) w.WriteNumberValue(v);
            w.WriteEndArray();
            WriteInts(w, "MinPoint", extents?.MinPoint);
            WriteInts(w, "MaxPoint", extents?.MaxPoint);
            w.WriteEndObject();
        });

    private static void WriteInts(Utf8JsonWriter w, string name, int[]? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    /// <summary>
    /// The n-D box of a request: <paramref name="dims"/> lists the varying axes (ascending, <c>_</c>-separated),
    /// <paramref name="size"/> one size per listed axis, <paramref name="offset"/> a coordinate per axis of the array;
    /// the unlisted axes are one element thick at their offset.
    /// </summary>
    public static NdBox ParseBox(string dims, string size, string offset, int rank, string name)
    {
        var parts = dims.Split('_', ',');
        var listed = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out listed[i]) || parts[i].Length > 1)
                throw Reject.BadRequest($"Unknown data shape specification ({dims}): list the varying dimensions as digits joined by \"_\", e.g. 0_1_2_3");
            if (listed[i] >= rank)
                throw Reject.BadRequest($"data \"{name}\" has {rank} dimensions (0 to {rank - 1}); dims \"{dims}\" names dimension {listed[i]}");
            if (i > 0 && listed[i] <= listed[i - 1])
                throw Reject.BadRequest($"dims \"{dims}\" must list each dimension once, in ascending order");
        }
        var sizes = GeometryStrings.ParseSize(size, listed.Length);
        var offsets = GeometryStrings.ParseInts(offset, rank, "offset");
        var full = Enumerable.Repeat(1, rank).ToArray();
        for (int i = 0; i < listed.Length; i++) full[listed[i]] = sizes[i];
        for (int d = 0; d < rank; d++)
            if ((long)offsets[d] + full[d] > int.MaxValue)
                throw Reject.BadRequest($"offset {offsets[d]} plus size {full[d]} passes the largest coordinate along dimension {d}");
        return new NdBox(offsets, full);
    }

    private static (Datastore.Types.NdArray.NdArray Array, NdBox Box, long Bytes) Parse(HttpContext http, string dims, string size, string offset, DicedOptions o)
    {
        var ctx = http.Instance();
        var arr = ctx.Array();
        var box = ParseBox(dims, size, offset, arr.Rank, ctx.Instance.Name);
        arr.CheckBox(box);
        long bytes = arr.BytesOf(box);
        if (bytes > o.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({bytes} bytes) exceeds this DVID server's set limit ({o.MaxDataRequestBytes})");
        return (arr, box, bytes);
    }

    private static async Task GetRaw(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> options, Throttle throttle)
    {
        var (arr, box, bytes) = Parse(http, dims, size, offset, options.Value);
        var ct = http.RequestAborted;
        using var slot = throttle.Enter(http);
        switch (http.Request.Query["compression"].ToString())
        {
            case "":
                http.Response.ContentType = "application/octet-stream";
                http.Response.ContentLength = bytes;
                await arr.ReadAsync(box, async (_, slab, token) => await http.Response.Body.WriteAsync(slab, token), ct);
                return;
            case "lz4":
                await Voxels.VoxelResponses.Send(http, "application/octet-stream", Lz4Block.Encode(await arr.ReadAllAsync(box, ct)));
                return;
            case var other:
                throw Reject.BadRequest($"unknown compression type \"{other}\"; ndarray reads are raw or lz4");
        }
    }

    /// <summary>
    /// Stores a packed body. Bodies up to the buffering limit are stored in one atomic commit; larger ones are received
    /// a slab at a time (at chunk boundaries) and each slab committed atomically as it arrives.
    /// </summary>
    private static async Task PostRaw(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> options, Throttle throttle)
    {
        var o = options.Value;
        var (arr, box, expected) = Parse(http, dims, size, offset, o);
        var ct = http.RequestAborted;
        if (http.Request.Query["compression"].Count > 0)
            throw Reject.BadRequest("ndarray writes take raw packed elements; compression= is not supported");
        if (http.Request.ContentLength is { } declared && declared != expected)
            throw Reject.BadRequest($"data was {declared} bytes, expected {expected} bytes for {box}");
        using var slot = throttle.Enter(http);
        if (expected <= o.MaxBufferedWriteBytes)
        {
            var body = await RequestBody.ReadAsync(http, expected);
            if (body.Length != expected) throw Reject.BadRequest($"data was {body.Length} bytes, expected {expected} bytes for {box}");
            await arr.WriteAsync(box, body, ct);
            return;
        }
        var slabs = box.Slabs(arr.ChunkShape, arr.BytesPerVoxel, o.MaxBufferedWriteBytes).ToList();
        RequestBody.Reserve(http, slabs.Max(s => s.VoxelCount) * arr.BytesPerVoxel);
        long stored = 0;
        foreach (var slab in slabs)
        {
            var buffer = GC.AllocateUninitializedArray<byte>(checked((int)(slab.VoxelCount * arr.BytesPerVoxel)));
            for (int read = 0; read < buffer.Length;)
            {
                int n = await RequestBody.ReadSomeAsync(http, buffer.AsMemory(read));
                if (n == 0) throw Reject.BadRequest($"data ended early; {(stored == 0 ? "nothing was stored" : $"the first {stored} bytes were stored")}");
                read += n;
            }
            await arr.WriteAsync(slab, buffer, ct);
            stored += buffer.Length;
        }
        if (await RequestBody.ReadSomeAsync(http, new byte[1]) != 0)
            throw Reject.BadRequest($"data was more than the {expected} bytes expected for {box}; the first {stored} bytes were stored");
    }
}
