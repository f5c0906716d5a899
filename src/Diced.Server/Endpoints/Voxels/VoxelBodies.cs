using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Voxels;

/// <summary>Voxel bodies of raw POSTs, shared by the image and label types: packed voxels, one raw LZ4 block, or gzip.</summary>
public static class VoxelBodies
{
    /// <summary>Reads a whole voxel body for <paramref name="box"/> in the request's <c>compression=</c> (gzip only where
    /// <paramref name="allowGzip"/>); it must hold exactly the box's voxels.</summary>
    public static async Task<byte[]> ReadAsync(HttpContext http, Box box, int bytesPerVoxel, DicedOptions o, bool allowGzip)
    {
        long expected = box.VoxelCount * bytesPerVoxel;
        var compression = http.Request.Query["compression"].ToString();
        byte[] voxels;
        switch (compression)
        {
            case "":
                if (http.Request.ContentLength is { } declared && declared != expected)
                    throw Reject.BadRequest($"voxels data was {declared} bytes, expected {expected} bytes for {box}");
                voxels = await RequestBody.ReadAsync(http, Math.Min(expected, o.MaxBufferedWriteBytes));
                break;
            case "lz4":
                voxels = await ReadLz4Async(http, expected, box, o);
                break;
            case "gzip" when allowGzip:
            {
                var packed = await RequestBody.ReadAsync(http, o.MaxBufferedWriteBytes);
                RequestBody.Reserve(http, expected);
                try { voxels = GzipCodec.Decompress(packed, expected + 1); }
                catch (InvalidDataException e) { throw Reject.BadRequest($"gzip body does not inflate: {e.Message}"); }
                break;
            }
            default:
                throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        }
        if (voxels.Length != expected)
            throw Reject.BadRequest($"voxels data was {voxels.Length} bytes, expected {expected} bytes for {box}");
        return voxels;
    }

    /// <summary>A voxel body sent as one raw LZ4 block (no size prefix): it must decode to exactly <paramref name="expected"/> bytes.</summary>
    private static async Task<byte[]> ReadLz4Async(HttpContext http, long expected, Box box, DicedOptions o)
    {
        var packed = await RequestBody.ReadAsync(http, Math.Min(o.MaxDataRequestBytes, expected + expected / 255 + 16)); // LZ4 worst case
        RequestBody.Reserve(http, expected);
        var voxels = GC.AllocateUninitializedArray<byte>((int)expected);
        try { Lz4Block.Decode(packed, voxels); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"LZ4 body does not decode to the {expected} bytes of {box}: {e.Message}"); }
        return voxels;
    }
}
