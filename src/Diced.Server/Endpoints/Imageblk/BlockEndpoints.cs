using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Endpoints.Voxels;
using Diced.Server.Endpoints.Blocks;
using Diced.Server.Http;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary>Block-level routes of the imageblk family (§8.4–8.6): subvolblocks, specificblocks, blocks spans.</summary>
public static class BlockEndpoints
{
    public static void MapBlockEndpoints(this RouteGroupBuilder g)
    {
        g.MapMethods("subvolblocks/{size}/{offset}", DvidRouting.GetAndHead, SubvolBlocks);
        g.MapMethods("specificblocks", DvidRouting.GetAndHead, SpecificBlocks);
        g.MapMethods("blocks/{block}/{span}", DvidRouting.GetAndHead, GetBlocks);
        g.MapPost("blocks/{block}/{span}", PostBlocks);
    }

    private static readonly Dictionary<string, BlockPayload> Payloads = new() { ["uncompressed"] = BlockPayload.Uncompressed, ["jpeg"] = BlockPayload.Stored };

    private static BlockPayload ParsePayload(HttpContext http, ImageVolume vol)
    {
        var payload = BlockStreamResponse.ParsePayload(http, BlockPayload.Stored, Payloads,
            $"don't understand 'compression' query string value: {http.Request.Query["compression"]}");
        if (http.Request.Query["compression"] == "jpeg" && vol.Codec.Spec.Kind != CompressionKind.Jpeg)
            throw Reject.BadRequest($"data \"{vol.Data.Instance.Name}\" is not stored as JPEG; compression=jpeg is not available");
        return payload;
    }

    private static async Task SubvolBlocks(HttpContext http, string size, string offset, IOptions<DicedOptions> o, Throttle throttle)
    {
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        var vol = http.Instance().Volume();
        VoxelResponses.CheckRequestSize(box, vol.BytesPerVoxel, o.Value);
        if (!box.IsBlockAligned(vol.BlockSize))
            throw Reject.BadRequest($"subvolblocks needs a block-aligned box; {box} is not aligned to blocks of {vol.BlockSize}");
        var payload = ParsePayload(http, vol);
        using var slot = throttle.Enter(http);
        await WriteFramed(http, vol, vol.ReadStoredBoxAsync(box.FirstBlock(vol.BlockSize), box.LastBlock(vol.BlockSize), http.RequestAborted), payload);
    }

    private static async Task SpecificBlocks(HttpContext http, IOptions<DicedOptions> o)
    {
        var vol = http.Instance().Volume();
        var payload = ParsePayload(http, vol);
        var blocks = ParseBlockList(http.Request.Query["blocks"].ToString());
        if ((long)blocks.Count * vol.BlockBytes > o.Value.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({(long)blocks.Count * vol.BlockBytes} bytes) exceeds this DVID server's set limit ({o.Value.MaxDataRequestBytes})");
        http.Response.ContentType = "application/octet-stream";
        if (http.Request.Query["prefetch"] is var p && (p == "on" || p == "true")) return;
        await WriteFramed(http, vol, vol.ReadStoredAsync(blocks, http.RequestAborted), payload);
    }

    /// <summary>Parses <c>x1,y1,z1,x2,y2,z2,…</c> block coordinates.</summary>
    public static List<Point3> ParseBlockList(string text)
    {
        var numbers = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                throw Reject.BadRequest($"blocks must be comma-separated integers; \"{part}\" is not");
            numbers.Add(n);
        }
        if (numbers.Count % 3 != 0) throw Reject.BadRequest($"blocks needs x,y,z triples; got {numbers.Count} numbers");
        return Enumerable.Range(0, numbers.Count / 3).Select(i => new Point3(numbers[3 * i], numbers[3 * i + 1], numbers[3 * i + 2])).ToList();
    }

    /// <summary>A block stream of image blocks: the stored payload, or decoded voxels.</summary>
    private static Task WriteFramed(HttpContext http, ImageVolume vol, IAsyncEnumerable<(Point3 Block, byte[] Stored)> blocks, BlockPayload payload)
    {
        byte[]? decoded = payload == BlockPayload.Uncompressed ? new byte[vol.BlockBytes] : null;
        return BlockStreamResponse.WriteAsync(http, blocks, (_, stored) =>
        {
            if (decoded is null) return stored.AsMemory(ValueEnvelope.PayloadOffset(stored));
            vol.DecodeBlock(stored, decoded);
            return decoded;
        });
    }

    private static (Point3 Block, int Span) ParseSpan(string block, string span, ImageVolume vol, DicedOptions o)
    {
        var b = GeometryStrings.ParsePoint(block, "block coordinate");
        if (!int.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
            throw Reject.BadRequest($"span \"{span}\" must be a positive integer");
        if ((long)b.X + n - 1 > int.MaxValue) throw Reject.BadRequest("block span runs past the coordinate range");
        if ((long)n * vol.BlockBytes > o.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({(long)n * vol.BlockBytes} bytes) exceeds this DVID server's set limit ({o.MaxDataRequestBytes})");
        return (b, n);
    }

    private static async Task GetBlocks(HttpContext http, string block, string span, IOptions<DicedOptions> o)
    {
        var vol = http.Instance().Volume();
        var (first, n) = ParseSpan(block, span, vol, o.Value);
        var result = GC.AllocateUninitializedArray<byte>(n * vol.BlockBytes);
        result.AsSpan().Fill(vol.Settings.Background); // missing blocks are the Background byte, as DVID
        var blocks = Enumerable.Range(0, n).Select(i => new Point3(first.X + i, first.Y, first.Z));
        await foreach (var (b, stored) in vol.ReadStoredAsync(blocks, http.RequestAborted))
            vol.DecodeBlock(stored, result.AsSpan((b.X - first.X) * vol.BlockBytes, vol.BlockBytes));
        await VoxelResponses.Send(http, "application/octet-stream", result);
    }

    private static async Task PostBlocks(HttpContext http, string block, string span, IOptions<DicedOptions> o)
    {
        var vol = http.Instance().Volume();
        var (first, n) = ParseSpan(block, span, vol, o.Value);
        long expected = (long)n * vol.BlockBytes;
        if (http.Request.ContentLength is { } declared && declared != expected)
            throw Reject.BadRequest($"block data was {declared} bytes, expected {n} blocks of {vol.BlockBytes} bytes");
        var body = await RequestBody.ReadAsync(http, expected);
        if (body.Length != expected) throw Reject.BadRequest($"block data ceased before all block data read: {body.Length} of {expected} bytes");
        await vol.WriteBlocksAsync(first, n, body, http.RequestAborted);
    }
}
