using System.Buffers;
using System.Runtime.InteropServices;
using Diced.Codecs.Images;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Roi;
using Diced.Server.Endpoints.Voxels;
using Diced.Server.Http;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary>Voxel routes of the imageblk family (§8.1–8.3): 3-D raw GET/POST, 2-D slices, JPEG volumes.</summary>
public static class ImageblkEndpoints
{
    public static readonly string[] TypeNames = ["uint8blk", "uint16blk", "uint32blk", "uint64blk", "float32blk"];

    public static void MapImageblkEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType(TypeNames);
        g.MapMethods("raw/{dims}/{size}/{offset}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, null, o.Value, t));
        g.MapMethods("raw/{dims}/{size}/{offset}/{format}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, string format, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, format, o.Value, t));
        g.MapPost("raw/{dims}/{size}/{offset}", PostRaw);
        g.MapMethods("isotropic/{dims}/{size}/{offset}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, null, o.Value, t, isotropic: true));
        g.MapMethods("isotropic/{dims}/{size}/{offset}/{format}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, string format, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, format, o.Value, t, isotropic: true));
        ArbitraryPlane.Map(g);
        g.MapMethods("rawkey", DvidRouting.GetAndHead, RawKey);
        g.MapVolumeMetadata();
        g.MapBlockEndpoints();
        g.MapPyramidEndpoints();
    }

    /// <summary>The instance's volume at the request's version.</summary>
    public static ImageVolume Volume(this InstanceContext ctx) => ctx.Store.ImageVolumeOf(ctx.Data);

    /// <summary>The volume, box and ROI mask a raw request addresses, validated before any work.</summary>
    private static async Task<(ImageVolume Volume, Box Box, RoiMask? Roi)> ParseVoxelRequest(HttpContext http, DataShape shape, string size, string offset, DicedOptions o)
    {
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var ctx = http.Instance();
        var vol = ctx.Volume();
        VoxelResponses.CheckRequestSize(box, vol.BytesPerVoxel, o);
        return (vol, box, await RoiRequest.ParseAsync(http, ctx, vol.Voxel == VoxelType.Uint8));
    }

    private static async Task GetRaw(HttpContext http, string dims, string size, string offset, string? format, DicedOptions o, Throttle throttle, bool isotropic = false)
    {
        var shape = GeometryStrings.ParseShape(dims);
        var (vol, box, roi) = await ParseVoxelRequest(http, shape, size, offset, o);
        var ct = http.RequestAborted;
        async Task<byte[]> ReadAll(Box b)
        {
            var all = await vol.ReadAllAsync(b, ct);
            roi?.Apply(all, b, vol.BytesPerVoxel);
            return all;
        }
        Task<byte[]> ReadAllOfBox() => ReadAll(box);
        if (shape != DataShape.Volume)
        {
            byte[] voxels;
            if (isotropic)
            {
                var (read, w, h) = IsotropicSlice.ReadBox(shape, box, vol.Settings.VoxelSize);
                var (dw, dh) = GeometryStrings.SliceSize(shape, box);
                voxels = IsotropicSlice.Resample(await ReadAll(read), w, h, vol.Voxel, labels: false, dw, dh);
            }
            else voxels = await ReadAllOfBox();
            await VoxelResponses.WriteSlice(http, vol, shape, box, format ?? "", voxels);
            return;
        }
        using var slot = throttle.Enter(http);
        if (format is "jpeg" or "jpg")
        {
            if (vol.Voxel != VoxelType.Uint8) throw Reject.BadRequest("only uint8 volumes can be returned as JPEG");
            var pixels = await ReadAllOfBox();
            var (w, h) = GeometryStrings.SliceSize(shape, box);
            await VoxelResponses.Send(http, "image/jpeg", VoxelResponses.EncodeJpeg(w, h, pixels, JpegCodec.DefaultQuality));
            return;
        }
        await VoxelResponses.SendRawAsync(http, box, vol.BytesPerVoxel, labels: false, ReadAllOfBox,
            sink => vol.ReadAsync(box, (part, slab, token) =>
            {
                roi?.Apply(MemoryMarshal.AsMemory(slab).Span, part, vol.BytesPerVoxel);
                return sink(part, slab, token);
            }, ct));
    }

    /// <summary><c>rawkey?x=&amp;y=&amp;z=</c>: <c>{"Key": "&lt;hex&gt;"}</c>, the store key of the block at that block coordinate here.</summary>
    private static async Task RawKey(HttpContext http)
    {
        int Coord(string name)
        {
            var s = http.Request.Query[name].ToString();
            return int.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v)
                ? v : throw Reject.BadRequest($"rawkey needs integer block coordinates x, y and z in the query string; {name} is \"{s}\"");
        }
        var block = new Point3(Coord("x"), Coord("y"), Coord("z"));
        var ctx = http.Instance();
        var key = Datastore.Versioning.DataKeys.Versioned(ctx.Instance.InstanceId, ctx.Volume().KeyFor(block), ctx.Data.WriteVersion, Datastore.Versioning.DataKeys.ValueMarker);
        await Json.DvidJson.WriteRawAsync(http, $"{{\"Key\": \"{Convert.ToHexString(key)}\"}}");
    }

    private static async Task PostRaw(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> options, Throttle throttle)
    {
        var o = options.Value;
        var shape = GeometryStrings.ParseShape(dims);
        if (shape != DataShape.Volume) throw Reject.BadRequest("DVID does not permit 2d mutations, only 3d stores");
        var (vol, box, roi) = await ParseVoxelRequest(http, shape, size, offset, o);
        var ct = http.RequestAborted;
        long expected = box.VoxelCount * vol.BytesPerVoxel;
        if (roi is not null && expected > o.MaxBufferedWriteBytes)
            throw Reject.BadRequest($"roi-restricted writes are limited to {o.MaxBufferedWriteBytes} bytes per request");
        using var slot = throttle.Enter(http);
        if (http.Request.Query["compression"].Count > 0 || roi is not null)
        {
            await vol.WriteAsync(box, await VoxelBodies.ReadAsync(http, box, vol.BytesPerVoxel, o, allowGzip: false), ct, roi);
            return;
        }
        if (http.Request.ContentLength is { } declared && declared != expected)
            throw Reject.BadRequest($"voxels data was {declared} bytes, expected {expected} bytes for {box}");
        await UploadAsync(http, vol, box, o, ct);
    }

    /// <summary>Buffers of layers being received and encoded: one pool for all threads (the shared pool keeps a buffer
    /// per thread, which for layers of many megabytes adds up), a few per size.</summary>
    private static readonly ArrayPool<byte> LayerBuffers = ArrayPool<byte>.Create(1 << 30, 4);

    /// <summary>
    /// Receives a packed body one layer of blocks at a time while earlier layers are encoded, and stores it in one
    /// atomic commit. Bodies larger than the buffering limit are committed in parts of about that size (each atomic).
    /// </summary>
    private static async Task UploadAsync(HttpContext http, ImageVolume vol, Box box, DicedOptions o, CancellationToken ct)
    {
        await using var upload = vol.BeginUpload(box);
        long expected = box.VoxelCount * vol.BytesPerVoxel;
        long layerBytes = upload.Layers.Max(l => l.VoxelCount) * vol.BytesPerVoxel;
        // Held at once: the encoded blocks of one commit (at most about their raw size) and the layers in flight.
        RequestBody.Reserve(http, Math.Min(expected, o.MaxBufferedWriteBytes) + (VolumeUpload.MaxLayersEncoding + 1) * layerBytes);
        int storedTo = box.Offset.Z;
        foreach (var layer in upload.Layers)
        {
            int bytes = checked((int)(layer.VoxelCount * vol.BytesPerVoxel));
            var buffer = LayerBuffers.Rent(bytes);
            try { await ReadExactlyAsync(http, buffer.AsMemory(0, bytes), storedTo == box.Offset.Z ? "nothing was stored" : $"layers before z={storedTo} were stored"); }
            catch
            {
                LayerBuffers.Return(buffer);
                throw;
            }
            await upload.AddLayerAsync(buffer, b => LayerBuffers.Return(b), ct);
            if (upload.PendingBytes < o.MaxBufferedWriteBytes) continue;
            await upload.CommitAsync(ct);
            storedTo = layer.End.Z;
        }
        if (await RequestBody.ReadSomeAsync(http, new byte[1]) != 0)
            throw Reject.BadRequest($"voxels data was more than the {expected} bytes expected for {box}");
        await upload.CommitAsync(ct);
    }

    private static async Task ReadExactlyAsync(HttpContext http, Memory<byte> buffer, string stored)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await RequestBody.ReadSomeAsync(http, buffer[read..]);
            if (n == 0)
                throw Reject.BadRequest($"voxel body ended early; {stored}");
            read += n;
        }
    }
}
