using Diced.Codecs.BlockStreams;
using Diced.Datastore.Geometry;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Blocks;

/// <summary>What each record of a block stream answer carries (<c>compression=</c>).</summary>
public enum BlockPayload
{
    /// <summary>The stored payload as it is (image types: DVID's own block bytes, e.g. JPEG).</summary>
    Stored,
    Lz4,
    Gzip,
    /// <summary>gzip-compressed DVID label blocks.</summary>
    DvidBlocks,
    Uncompressed,
}

/// <summary>Block stream answers (<c>subvolblocks</c>, <c>specificblocks</c>, label <c>blocks</c>), for every type.</summary>
public static class BlockStreamResponse
{
    /// <summary>The payload <c>compression=</c> asks for among <paramref name="allowed"/> (<paramref name="fallback"/> when absent).</summary>
    public static BlockPayload ParsePayload(HttpContext http, BlockPayload fallback, IReadOnlyDictionary<string, BlockPayload> allowed, string refusal)
    {
        var c = http.Request.Query["compression"].ToString();
        if (c.Length == 0) return fallback;
        return allowed.TryGetValue(c, out var p) ? p : throw Reject.BadRequest(refusal);
    }

    /// <summary>
    /// Streams one record per stored block, its payload made by <paramref name="payloadOf"/> (which may reuse one buffer:
    /// each payload is written before the next is asked for).
    /// </summary>
    public static async Task WriteAsync(HttpContext http, IAsyncEnumerable<(Point3 Block, byte[] Stored)> blocks,
        Func<Point3, byte[], ReadOnlyMemory<byte>> payloadOf)
    {
        http.Response.ContentType = "application/octet-stream";
        var pipe = http.Response.BodyWriter;
        await foreach (var (b, stored) in blocks)
        {
            BlockStream.WriteFrame(pipe, (b.X, b.Y, b.Z), payloadOf(b, stored).Span);
            if (pipe.UnflushedBytes > 1 << 20) await pipe.FlushAsync(http.RequestAborted);
        }
        await pipe.FlushAsync(http.RequestAborted);
    }
}
