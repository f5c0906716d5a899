using Diced.Codecs;
using Diced.Codecs.Images;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
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
        g.MapVolumeMetadata();
        g.MapBlockEndpoints();
    }

    /// <summary>The instance's volume at the request's version.</summary>
    public static ImageVolume Volume(this InstanceContext ctx) => ctx.Store.ImageVolumeOf(ctx.Data);

    public static void CheckRequestSize(Box box, int bytesPerVoxel, DicedOptions o)
    {
        long bytes = box.VoxelCount * bytesPerVoxel;
        if (bytes > o.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({bytes} bytes) exceeds this DVID server's set limit ({o.MaxDataRequestBytes})");
    }

    /// <summary>The volume, box and ROI mask a raw request addresses, validated before any work.</summary>
    private static async Task<(ImageVolume Volume, Box Box, RoiMasking? Roi)> ParseVoxelRequest(HttpContext http, DataShape shape, string size, string offset, DicedOptions o)
    {
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var ctx = http.Instance();
        var vol = ctx.Volume();
        CheckRequestSize(box, vol.BytesPerVoxel, o);
        return (vol, box, await RoiMasking.FromRequestAsync(http, ctx, vol.Voxel == VoxelType.Uint8));
    }

    private static async Task GetRaw(HttpContext http, string dims, string size, string offset, string? format, DicedOptions o, Throttle throttle)
    {
        var shape = GeometryStrings.ParseShape(dims);
        var (vol, box, roi) = await ParseVoxelRequest(http, shape, size, offset, o);
        var ct = http.RequestAborted;
        async Task<byte[]> ReadAll()
        {
            var all = await vol.ReadAllAsync(box, ct);
            roi?.Apply(all, box, vol.BytesPerVoxel);
            return all;
        }
        if (shape != DataShape.Volume)
        {
            await WriteSlice(http, vol, shape, box, format ?? "", await ReadAll());
            return;
        }
        using var slot = throttle.Enter(http);
        if (format is "jpeg" or "jpg")
        {
            if (vol.Voxel != VoxelType.Uint8) throw Reject.BadRequest("only uint8 volumes can be returned as JPEG");
            var pixels = await ReadAll();
            var (w, h) = GeometryStrings.SliceSize(shape, box);
            await Send(http, "image/jpeg", EncodeJpeg(w, h, pixels, JpegCodec.DefaultQuality));
            return;
        }
        var compression = http.Request.Query["compression"].ToString();
        if (compression == "lz4")
        {
            await Send(http, "application/octet-stream", Lz4Block.Encode(await ReadAll()));
            return;
        }
        if (compression.Length > 0) throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        http.Response.ContentType = "application/octet-stream";
        http.Response.ContentLength = box.VoxelCount * vol.BytesPerVoxel;
        var bs = vol.BlockSize;
        int firstLayer = box.FirstBlock(bs).Z;
        await vol.ReadAsync(box, async (slab, token) =>
        {
            if (roi is not null)
            {
                // Slabs arrive in z order; recover this slab's box from its size.
                int depth = slab.Length / (box.Size.X * box.Size.Y * vol.BytesPerVoxel);
                int z0 = Math.Max(box.Offset.Z, firstLayer++ * bs.Z);
                roi.Apply(RoiMasking.Writable(slab), new Box(box.Offset with { Z = z0 }, box.Size with { Z = depth }), vol.BytesPerVoxel);
            }
            await http.Response.Body.WriteAsync(slab, token);
        }, ct);
    }

    private static byte[] EncodeJpeg(int w, int h, byte[] pixels, int quality)
    {
        try { return JpegCodec.EncodeGray(w, h, pixels, quality); }
        catch (ArgumentException e) { throw Reject.BadRequest(e.Message); }
    }

    public static async Task Send(HttpContext http, string contentType, byte[] body)
    {
        http.Response.ContentType = contentType;
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, http.RequestAborted);
    }

    public static async Task WriteSlice(HttpContext http, ImageVolume vol, DataShape shape, Box box, string format, byte[] voxels)
    {
        var (w, h) = GeometryStrings.SliceSize(shape, box);
        var f = format.ToLowerInvariant();
        string name = f, arg = "";
        int colon = f.IndexOf(':');
        if (colon >= 0) (name, arg) = (f[..colon], f[(colon + 1)..]);
        int quality = JpegCodec.DefaultQuality;
        if (name is "jpg" or "jpeg" && arg.Length > 0 && (!int.TryParse(arg, out quality) || quality is < 1 or > 100))
            throw Reject.BadRequest($"Illegal JPEG quality requested: {arg}");
        if (name is not ("" or "png" or "jpg" or "jpeg" or "binary" or "raw"))
            throw Reject.BadRequest(name is "tif" or "tiff" or "bmp"
                ? $"Image format {name} is not supported by this server; use png or jpg"
                : $"Illegal image format requested: {format}");
        switch (name)
        {
            case "binary" or "raw":
                await Send(http, "application/octet-stream", voxels);
                break;
            case "jpg" or "jpeg":
                await Send(http, "image/jpeg", EncodeJpeg(w, h, ToGray8(voxels, vol.Voxel), quality));
                break;
            default:
                var layout = vol.Voxel switch
                {
                    VoxelType.Uint8 => PngPixels.Gray8,
                    VoxelType.Uint16 => PngPixels.Gray16,
                    VoxelType.Uint64 => PngPixels.Rgba16,
                    _ => PngPixels.Rgba8,
                };
                await Send(http, "image/png", PngEncoder.Encode(w, h, layout, voxels));
                break;
        }
    }

    private static byte[] ToGray8(byte[] voxels, VoxelType voxel)
    {
        if (voxel == VoxelType.Uint8) return voxels;
        if (voxel != VoxelType.Uint16) throw Reject.BadRequest($"{voxel.DataTypeName()} slices cannot be returned as JPEG; use png");
        var gray = new byte[voxels.Length / 2];
        for (int i = 0; i < gray.Length; i++) gray[i] = voxels[2 * i + 1]; // the high byte of each little-endian uint16
        return gray;
    }

    private static async Task PostRaw(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> options, Throttle throttle)
    {
        var o = options.Value;
        var shape = GeometryStrings.ParseShape(dims);
        if (shape != DataShape.Volume) throw Reject.BadRequest("DVID does not permit 2d mutations, only 3d stores");
        var (vol, box, roi) = await ParseVoxelRequest(http, shape, size, offset, o);
        var ct = http.RequestAborted;
        if (roi is not null && box.VoxelCount * vol.BytesPerVoxel > o.MaxBufferedWriteBytes)
            throw Reject.BadRequest($"roi-restricted writes are limited to {o.MaxBufferedWriteBytes} bytes per request");
        async Task Store(byte[] voxels)
        {
            if (roi is not null)
            {
                var existing = await vol.ReadAllAsync(box, ct);
                roi.KeepOutside(voxels, existing, box, vol.BytesPerVoxel);
            }
            await vol.WriteAsync(box, voxels, ct);
        }
        long expected = box.VoxelCount * vol.BytesPerVoxel;
        var compression = http.Request.Query["compression"].ToString();
        using var slot = throttle.Enter(http);
        if (compression == "lz4")
        {
            await Store(await ReadLz4VoxelsAsync(http, expected, box, o));
            return;
        }
        if (compression.Length > 0) throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        if (http.Request.ContentLength is { } declared && declared != expected)
            throw Reject.BadRequest($"voxels data was {declared} bytes, expected {expected} bytes for {box}");
        if (expected <= o.MaxBufferedWriteBytes || http.Request.ContentLength is null)
        {
            var body = await RequestBody.ReadAsync(http, Math.Min(expected, o.MaxBufferedWriteBytes));
            if (body.Length != expected) throw Reject.BadRequest($"voxels data was {body.Length} bytes, expected {expected} bytes for {box}");
            await Store(body);
            return;
        }
        await WriteBySlabs(http, vol, box, ct);
    }

    /// <summary>A voxel body sent as one raw LZ4 block (no size prefix): it must decode to exactly <paramref name="expected"/> bytes.</summary>
    public static async Task<byte[]> ReadLz4VoxelsAsync(HttpContext http, long expected, Box box, DicedOptions o)
    {
        var packed = await RequestBody.ReadAsync(http, Math.Min(o.MaxDataRequestBytes, expected + expected / 255 + 16)); // LZ4 worst case
        RequestBody.Reserve(http, expected);
        var voxels = GC.AllocateUninitializedArray<byte>((int)expected);
        try { Lz4Block.Decode(packed, voxels); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"LZ4 body does not decode to the {expected} bytes of {box}: {e.Message}"); }
        return voxels;
    }

    /// <summary>Bodies larger than the buffering limit are read and stored one layer of blocks at a time.</summary>
    private static async Task WriteBySlabs(HttpContext http, ImageVolume vol, Box box, CancellationToken ct)
    {
        var bs = vol.BlockSize;
        var first = box.FirstBlock(bs);
        var last = box.LastBlock(bs);
        for (int bz = first.Z; bz <= last.Z; bz++)
        {
            int z0 = Math.Max(box.Offset.Z, bz * bs.Z), z1 = Math.Min(box.End.Z, (bz + 1) * bs.Z);
            var layer = new Box(new Point3(box.Offset.X, box.Offset.Y, z0), new Point3(box.Size.X, box.Size.Y, z1 - z0));
            int bytes = checked((int)(layer.VoxelCount * vol.BytesPerVoxel));
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(bytes);
            try
            {
                int read = 0;
                while (read < bytes)
                {
                    int n = await RequestBody.ReadSomeAsync(http, buffer.AsMemory(read, bytes - read));
                    if (n == 0) throw Reject.BadRequest($"voxel body ended early; layers before z={z0} were stored");
                    read += n;
                }
                await vol.WriteAsync(layer, buffer.AsMemory(0, bytes), ct);
            }
            finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        }
    }
}
