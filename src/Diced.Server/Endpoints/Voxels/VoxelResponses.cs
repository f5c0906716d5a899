using System.Runtime.InteropServices;
using Diced.Codecs;
using Diced.Codecs.Images;
using Diced.Codecs.Labels;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Voxels;

/// <summary>Answers of the voxel routes shared by the image and label types: raw volumes in every <c>compression=</c>,
/// 2-D slices as PNG, JPEG or binary, and the request-size check made before any work.</summary>
public static class VoxelResponses
{
    public static void CheckRequestSize(Box box, int bytesPerVoxel, DicedOptions o)
    {
        long bytes = box.VoxelCount * bytesPerVoxel;
        if (bytes > o.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({bytes} bytes) exceeds this DVID server's set limit ({o.MaxDataRequestBytes})");
    }

    public static async Task Send(HttpContext http, string contentType, byte[] body)
    {
        http.Response.ContentType = contentType;
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, http.RequestAborted);
    }

    /// <summary>
    /// Answers a raw 3-D GET: streamed as read when uncompressed, else read whole and encoded (<c>lz4</c>; for labels
    /// also <c>gzip</c> and Neuroglancer's compressed segmentation, <c>google</c>/<c>googlegzip</c>).
    /// </summary>
    public static async Task SendRawAsync(HttpContext http, Box box, int bytesPerVoxel, bool labels,
        Func<Task<byte[]>> readAll, Func<SlabSink, Task> stream)
    {
        var compression = http.Request.Query["compression"].ToString();
        switch (compression)
        {
            case "":
                http.Response.ContentType = "application/octet-stream";
                http.Response.ContentLength = box.VoxelCount * bytesPerVoxel;
                await stream(async (_, slab, token) => await http.Response.Body.WriteAsync(slab, token));
                return;
            case "lz4":
                await Send(http, "application/octet-stream", Lz4Block.Encode(await readAll()));
                return;
            case "gzip" when labels:
                await Send(http, "application/octet-stream", GzipCodec.Compress(await readAll()));
                return;
            case "google" or "googlegzip" when labels:
                if (box.Size.X % 8 != 0 || box.Size.Y % 8 != 0 || box.Size.Z % 8 != 0)
                    throw Reject.BadRequest($"compression={compression} needs a size that is a multiple of 8 in every dimension, got {box.Size.X}x{box.Size.Y}x{box.Size.Z}");
                var all = await readAll();
                byte[] encoded;
                try { encoded = CompressedSegmentation.Encode(MemoryMarshal.Cast<byte, ulong>(all.AsSpan()), (box.Size.X, box.Size.Y, box.Size.Z)); }
                catch (ArgumentException e) { throw Reject.BadRequest(e.Message); }
                if (compression == "googlegzip")
                {
                    http.Response.Headers.ContentEncoding = "gzip";
                    encoded = GzipCodec.Compress(encoded);
                }
                await Send(http, "application/octet-stream", encoded);
                return;
            default:
                throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        }
    }

    public static Task WriteSlice(HttpContext http, ImageVolume vol, DataShape shape, Box box, string format, byte[] voxels)
    {
        var (w, h) = GeometryStrings.SliceSize(shape, box);
        return WriteImage(http, vol.Voxel, w, h, format, voxels);
    }

    /// <summary>Sends a <paramref name="w"/>×<paramref name="h"/> image of <paramref name="voxel"/> pixels as <paramref name="format"/> (png, jpg[:quality], binary).</summary>
    public static async Task WriteImage(HttpContext http, VoxelType voxel, int w, int h, string format, byte[] voxels)
    {
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
                await Send(http, "image/jpeg", EncodeJpeg(w, h, ToGray8(voxels, voxel), quality));
                break;
            default:
                var layout = voxel switch
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

    public static byte[] EncodeJpeg(int w, int h, byte[] pixels, int quality)
    {
        try { return JpegCodec.EncodeGray(w, h, pixels, quality); }
        catch (ArgumentException e) { throw Reject.BadRequest(e.Message); }
    }

    private static byte[] ToGray8(byte[] voxels, VoxelType voxel)
    {
        if (voxel == VoxelType.Uint8) return voxels;
        if (voxel != VoxelType.Uint16) throw Reject.BadRequest($"{voxel.DataTypeName()} slices cannot be returned as JPEG; use png");
        var gray = new byte[voxels.Length / 2];
        for (int i = 0; i < gray.Length; i++) gray[i] = voxels[2 * i + 1]; // the high byte of each little-endian uint16
        return gray;
    }
}
