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
using Diced.Codecs.BlockStreams;
using Diced.Server.Endpoints.Blocks;
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Block routes of the label types: blocks GET (all types) and POST, ingest-supervoxels, specificblocks.</summary>
internal static class LabelBlockEndpoints
{
    public static void Map(RouteGroupBuilder all, RouteGroupBuilder indexed, RouteGroupBuilder labelmap)
    {
        all.MapMethods("blocks/{size}/{offset}", DvidRouting.GetAndHead, GetBlocks);
        indexed.MapPost("blocks", (HttpContext http, IOptions<DicedOptions> o, Throttle t) => PostBlocks(http, o.Value, t, ingestOnly: false));
        labelmap.MapPost("ingest-supervoxels", (HttpContext http, IOptions<DicedOptions> o, Throttle t) => PostBlocks(http, o.Value, t, ingestOnly: true));
        indexed.MapMethods("specificblocks", DvidRouting.GetAndHead, SpecificBlocks);
    }

    private static readonly Dictionary<string, BlockPayload> Payloads = new()
    {
        ["lz4"] = BlockPayload.Lz4, ["gzip"] = BlockPayload.Gzip, ["blocks"] = BlockPayload.DvidBlocks, ["uncompressed"] = BlockPayload.Uncompressed,
    };

    private static BlockPayload ParseBlockPayload(HttpContext http, LabelVolume labels, BlockPayload defaultPayload)
    {
        var payload = BlockStreamResponse.ParsePayload(http, defaultPayload, Payloads, "compression must be \"lz4\" (default), \"gzip\", \"blocks\" or \"uncompressed\"");
        if (labels.Type.Kind == LabelKind.Labelblk && payload is BlockPayload.Gzip or BlockPayload.DvidBlocks)
            throw Reject.BadRequest("labelblk blocks can be sent as \"lz4\" (default) or \"uncompressed\"");
        return payload;
    }

    private static async Task GetBlocks(HttpContext http, string size, string offset, IOptions<DicedOptions> o, Throttle throttle)
    {
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        var labels = LabelsOf(http);
        int scale = BlockScale(http, labels);
        VoxelResponses.CheckRequestSize(box, 8, o.Value);
        if (!box.IsBlockAligned(labels.BlockSize))
            throw Reject.BadRequest($"blocks needs a block-aligned box; {box} is not aligned to blocks of {labels.BlockSize}");
        var payload = ParseBlockPayload(http, labels, BlockPayload.Lz4);
        using var slot = throttle.Enter(http);
        var bs = labels.BlockSize;
        using var view = await labels.ViewAsync(scale, Flag(http, "supervoxels"), http.RequestAborted);
        await WriteFramed(http, labels, view.Mapping, view.Volume.ReadStoredBoxAsync(box.FirstBlock(bs), box.LastBlock(bs), http.RequestAborted), payload);
    }

    private static async Task SpecificBlocks(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = LabelsOf(http);
        int scale = BlockScale(http, labels);
        var payload = ParseBlockPayload(http, labels, BlockPayload.DvidBlocks);
        var blocks = BlockEndpoints.ParseBlockList(http.Request.Query["blocks"].ToString());
        foreach (var b in blocks) CheckBlockInGrid(b, labels.BlockSize);
        if ((long)blocks.Count * labels.Volume.BlockBytes > o.Value.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({(long)blocks.Count * labels.Volume.BlockBytes} bytes) exceeds this DVID server's set limit ({o.Value.MaxDataRequestBytes})");
        using var view = await labels.ViewAsync(scale, Flag(http, "supervoxels"), http.RequestAborted);
        await WriteFramed(http, labels, view.Mapping, view.Volume.ReadStoredAsync(blocks, http.RequestAborted), payload);
    }

    /// <summary>A block stream of label blocks (mapped to bodies unless the mapping is empty), payload as asked.</summary>
    private static Task WriteFramed(HttpContext http, LabelVolume labels, IReadOnlyDictionary<ulong, ulong> mapping,
        IAsyncEnumerable<(Point3 Block, byte[] Stored)> blocks, BlockPayload payload)
    {
        var voxels = new byte[labels.Volume.BlockBytes];
        return BlockStreamResponse.WriteAsync(http, blocks, (_, stored) =>
        {
            if (payload == BlockPayload.DvidBlocks)
            {
                // Mapping rewrites the label table in place; a stored gzip block that needs no mapping goes out as stored.
                var dvid = LabelBlockCodec.DvidBlock(stored);
                bool mapped = LabelBlock.RemapTable(dvid, mapping);
                return !mapped && ValueEnvelope.KindOf(stored) == CompressionKind.Gzip ? stored.AsMemory(ValueEnvelope.PayloadOffset(stored)) : GzipCodec.Compress(dvid);
            }
            labels.Volume.DecodeBlock(stored, voxels);
            LabelVolume.ApplyMapping(MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan()), mapping);
            return payload switch
            {
                BlockPayload.Lz4 => Lz4Block.Encode(voxels),
                BlockPayload.Gzip => GzipCodec.Compress(voxels),
                _ => voxels,
            };
        });
    }

    /// <summary>
    /// <c>POST …/blocks</c>: gzip-compressed DVID label blocks in block-stream records, parsed and checked (framing, gzip,
    /// block format and size) as they arrive; nothing is stored unless every block is good, and then all in one commit.
    /// </summary>
    private static async Task PostBlocks(HttpContext http, DicedOptions o, Throttle throttle, bool ingestOnly)
    {
        var c = http.Request.Query["compression"].ToString();
        if (c is not ("" or "blocks")) throw Reject.BadRequest($"compression \"{c}\" is not accepted for block POSTs; send gzip-compressed DVID blocks");
        var labels = LabelsOf(http);
        int scale = BlockScale(http, labels);
        bool downres = Flag(http, "downres");
        if (downres && scale != 0) throw Reject.BadRequest("downres=true is only allowed with scale 0 blocks");
        var bs = labels.BlockSize;
        long maxBlock = LabelBlock.MaxEncodedLength((bs.X, bs.Y, bs.Z)); // no valid block inflates to more
        int maxRecord = (int)Math.Min(Math.Min(maxBlock + maxBlock / 100 + 1024, o.MaxBufferedWriteBytes), Array.MaxLength);
        var decoded = new List<(Point3, ReadOnlyMemory<byte>)>();
        await RequestBody.ReadingAsync(http, () => BlockStream.ReadAsync(http.Request.BodyReader, maxRecord, (block, payload) =>
        {
            var b = new Point3(block.X, block.Y, block.Z);
            CheckBlockInGrid(b, bs);
            if ((long)(decoded.Count + 1) * labels.Volume.BlockBytes > o.MaxBufferedWriteBytes)
                throw Reject.BadRequest($"the blocks decode to more than this server's limit of {o.MaxBufferedWriteBytes} bytes per POST; send fewer blocks per request");
            RequestBody.Reserve(http, labels.Volume.BlockBytes);
            byte[] dvid;
            try { dvid = GzipCodec.Decompress(payload, maxBlock); }
            catch (InvalidDataException e) { throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) is not valid gzip: {e.Message}"); }
            var voxels = new byte[labels.Volume.BlockBytes];
            try { LabelBlock.DecodeExactly(dvid, (bs.X, bs.Y, bs.Z), MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan())); }
            catch (InvalidDataException e) { throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) is not a valid label block: {e.Message}"); }
            decoded.Add((b, voxels));
        }, http.RequestAborted));
        using var slot = throttle.Enter(http);
        await labels.WriteBlocksAsync(decoded, scale, downres && !ingestOnly, indexing: !(ingestOnly || Flag(http, "noindexing")), http.RequestAborted);
    }
}
