using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Diced.Codecs;
using Diced.Codecs.Labels;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Server.Endpoints.Imageblk;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;
using Diced.Codecs.SparseVolumes;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Routes of labelblk (§9), labelmap and labelarray (§10).</summary>
public static class LabelEndpoints
{
    public static readonly string[] TypeNames = ["labelblk", "labelmap", "labelarray"];
    public static readonly string[] IndexedTypes = ["labelmap", "labelarray"];

    public static void MapLabelEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType(TypeNames);
        g.MapMethods("raw/{dims}/{size}/{offset}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, null, o.Value, t));
        g.MapMethods("raw/{dims}/{size}/{offset}/{format}", DvidRouting.GetAndHead, (HttpContext http, string dims, string size, string offset, string format, IOptions<DicedOptions> o, Throttle t)
            => GetRaw(http, dims, size, offset, format, o.Value, t));
        g.MapPost("raw/{dims}/{size}/{offset}", PostRaw);
        g.MapMethods("label/{coord}", DvidRouting.GetAndHead, GetLabel);
        g.MapMethods("labels", DvidRouting.GetAndHead, GetLabels);
        g.MapPost("labels", () => { throw Reject.BadRequest("Batch labels query must be a GET request"); });
        g.MapMethods("blocks/{size}/{offset}", DvidRouting.GetAndHead, GetBlocks);
        g.MapVolumeMetadata();

        var m = app.MapDataType(IndexedTypes);
        m.MapPost("blocks", (HttpContext http, IOptions<DicedOptions> o, Throttle t) => PostBlocks(http, o.Value, t, ingestOnly: false));
        m.MapPost("ingest-supervoxels", (HttpContext http, IOptions<DicedOptions> o, Throttle t) => PostBlocks(http, o.Value, t, ingestOnly: true));
        m.MapMethods("specificblocks", DvidRouting.GetAndHead, SpecificBlocks);
        m.MapMethods("maxlabel", DvidRouting.GetAndHead, MaxLabel);
        m.MapMethods("nextlabel", DvidRouting.GetAndHead, NextLabel);
        m.MapPost("nextlabel/{count}", ReserveLabels);
        m.MapGet("sparsevol/{label}", Sparsevol);
        m.MapMethods("sparsevol/{label}", ["HEAD"], SparsevolExists);
        m.MapMethods("sparsevol-coarse/{label}", DvidRouting.GetAndHead, SparsevolCoarse);
        m.MapMethods("sparsevol-by-point/{coord}", DvidRouting.GetAndHead, SparsevolByPoint);
        m.MapMethods("supervoxel-sizes/{label}", DvidRouting.GetAndHead, SupervoxelSizes);
        m.MapMethods("sparsevol-size/{label}", DvidRouting.GetAndHead, SparsevolSize);
        m.MapMethods("size/{label}", DvidRouting.GetAndHead, Size);
        m.MapMethods("sizes", DvidRouting.GetAndHead, Sizes);
        m.MapMethods("supervoxels/{label}", DvidRouting.GetAndHead, Supervoxels);
        m.MapMethods("mapping", DvidRouting.GetAndHead, Mapping);
        m.MapMethods("lastmod/{label}", DvidRouting.GetAndHead, LastMod);
        m.MapMethods("mutations", DvidRouting.GetAndHead, Mutations);
        m.MapPost("merge", Merge);
        m.MapPost("cleave/{label}", Cleave);
        m.MapPost("split-supervoxel/{label}", SplitSupervoxel);
        m.MapPost("split/{label}", Split);
        m.MapPost("renumber", Renumber);
        m.MapMethods("index/{label}", DvidRouting.GetAndHead, GetIndex);
        m.MapPost("index/{label}", PostIndex);
        m.MapMethods("indices", DvidRouting.GetAndHead, GetIndices);
        m.MapPost("indices", PostIndices);
        m.MapMethods("mappings", DvidRouting.GetAndHead, GetMappings);
        m.MapPost("mappings", PostMappings);
        foreach (var verb in new[] { "merge", "cleave/{label}", "split-supervoxel/{label}", "split/{label}", "renumber" })
            m.MapGet(verb, (HttpContext http) => { throw Reject.BadRequest($"{verb.Split('/')[0]} requests must be POST actions."); });
    }

    /// <summary>The label volume of the request's instance, with the requester recorded for mutations.</summary>
    public static LabelVolume Labels(this InstanceContext ctx, HttpContext? http = null)
    {
        var context = http is null ? MutationContext.Anonymous : new MutationContext(http.Request.Query["u"].ToString(), http.Request.Query["app"].ToString());
        return ctx.Store.LabelVolumeOf(ctx.Data, context);
    }

    private static readonly object LabelsKey = new();

    /// <summary>The request's label volume, made once per request (handlers and helpers share it).</summary>
    private static LabelVolume Labels(HttpContext http)
    {
        if (http.Items.TryGetValue(LabelsKey, out var v)) return (LabelVolume)v!;
        var labels = http.Instance().Labels(http);
        http.Items[LabelsKey] = labels;
        return labels;
    }

    /// <summary>Registers the label types' <c>Extended</c> and <c>Extents</c> members of <c>…/info</c>.</summary>
    public static void RegisterLabelInfo(InstanceInfoWriters writers)
    {
        foreach (var name in TypeNames)
            writers.Register(name, async (w, ctx, ct) =>
            {
                var labels = ctx.Labels();
                var vol = labels.Volume;
                var extents = await vol.GetExtentsAsync(ct);
                w.WriteStartObject("Extended");
                VolumeMetadataEndpoints.WriteExtended(w, vol, extents, "uint64", "labels");
                w.WriteNumber("MaxDownresLevel", int.Parse(ctx.Instance.Settings.GetValueOrDefault(LabelType.MaxDownresKey, "0"), CultureInfo.InvariantCulture));
                w.WriteBoolean("IndexedLabels", labels.Indexed);
                if (labels.Type.Kind != LabelKind.Labelblk)
                {
                    var max = await labels.MaxLabelAsync(ct);
                    w.WriteNumber("MaxLabel", max ?? 0);
                    w.WriteNumber("MaxRepoLabel", await labels.NextLabelAsync(ct) - 1);
                }
                w.WriteEndObject();
                w.WriteStartObject("Extents");
                VolumeMetadataEndpoints.WritePointOrNull(w, "MinPoint", extents?.MinPoint);
                VolumeMetadataEndpoints.WritePointOrNull(w, "MaxPoint", extents?.MaxPoint);
                w.WriteEndObject();
            });
    }

    // ------------------------------------------------------------------ query options

    private static bool Flag(HttpContext http, string name)
        => http.Request.Query[name].ToString().ToLowerInvariant() is "true" or "on" or "1";

    /// <summary>The <c>scale</c> query option (0 when absent), checked against the instance's pyramid.</summary>
    private static int Scale(HttpContext http, LabelVolume labels)
    {
        var s = http.Request.Query["scale"].ToString();
        if (s.Length == 0) return 0;
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var scale)) throw Reject.BadRequest($"bad scale specified: {s}");
        labels.At(scale); // refuses levels the instance does not keep
        return scale;
    }

    private static ulong ParseLabel(string text)
    {
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var label))
            throw Reject.BadRequest($"label \"{text}\" is not a non-negative 64-bit integer");
        return label;
    }

    private static ulong ParseNonZeroLabel(string text)
    {
        var label = ParseLabel(text);
        if (label == 0) throw Reject.BadRequest("Label 0 is protected background value and cannot be used as sparse volume.");
        return label;
    }

    // ------------------------------------------------------------------ voxels

    private static async Task GetRaw(HttpContext http, string dims, string size, string offset, string? format, DicedOptions o, Throttle throttle)
    {
        var shape = GeometryStrings.ParseShape(dims);
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var labels = Labels(http);
        int scale = Scale(http, labels);
        ImageblkEndpoints.CheckRequestSize(box, 8, o);
        bool supervoxels = Flag(http, "supervoxels");
        var ct = http.RequestAborted;
        if (shape != DataShape.Volume)
        {
            await ImageblkEndpoints.WriteSlice(http, labels.Volume, shape, box, format ?? "", await labels.ReadAllAsync(box, supervoxels, ct, scale));
            return;
        }
        if (format is not null) throw Reject.BadRequest($"label volumes cannot be returned as {format}");
        var compression = http.Request.Query["compression"].ToString();
        using var slot = throttle.Enter(http);
        switch (compression)
        {
            case "":
                http.Response.ContentType = "application/octet-stream";
                http.Response.ContentLength = box.VoxelCount * 8;
                await labels.ReadAsync(box, supervoxels, async (slab, token) => await http.Response.Body.WriteAsync(slab, token), ct, scale);
                return;
            case "lz4":
                await ImageblkEndpoints.Send(http, "application/octet-stream", Lz4Block.Encode(await labels.ReadAllAsync(box, supervoxels, ct, scale)));
                return;
            case "gzip":
                await ImageblkEndpoints.Send(http, "application/octet-stream", GzipCodec.Compress(await labels.ReadAllAsync(box, supervoxels, ct, scale)));
                return;
            case "google" or "googlegzip":
                if (box.Size.X % 8 != 0 || box.Size.Y % 8 != 0 || box.Size.Z % 8 != 0)
                    throw Reject.BadRequest($"compression={compression} needs a size that is a multiple of 8 in every dimension, got {box.Size.X}x{box.Size.Y}x{box.Size.Z}");
                var all = await labels.ReadAllAsync(box, supervoxels, ct, scale);
                byte[] encoded;
                try { encoded = CompressedSegmentation.Encode(MemoryMarshal.Cast<byte, ulong>(all.AsSpan()), (box.Size.X, box.Size.Y, box.Size.Z)); }
                catch (ArgumentException e) { throw Reject.BadRequest(e.Message); }
                if (compression == "googlegzip")
                {
                    http.Response.Headers.ContentEncoding = "gzip";
                    encoded = GzipCodec.Compress(encoded);
                }
                await ImageblkEndpoints.Send(http, "application/octet-stream", encoded);
                return;
            default:
                throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        }
    }

    private static async Task PostRaw(HttpContext http, string dims, string size, string offset, IOptions<DicedOptions> options, Throttle throttle)
    {
        var o = options.Value;
        var shape = GeometryStrings.ParseShape(dims);
        if (shape != DataShape.Volume) throw Reject.BadRequest("DVID does not permit 2d mutations, only 3d stores");
        var box = GeometryStrings.ParseBox(shape, size, offset);
        var labels = Labels(http);
        if (Scale(http, labels) != 0) throw Reject.BadRequest("voxels can only be written at scale 0; coarser levels are computed from it");
        ImageblkEndpoints.CheckRequestSize(box, 8, o);
        long expected = box.VoxelCount * 8;
        if (expected > o.MaxBufferedWriteBytes)
            throw Reject.BadRequest($"label writes are limited to {o.MaxBufferedWriteBytes} bytes per request; split the volume");
        var compression = http.Request.Query["compression"].ToString();
        using var slot = throttle.Enter(http);
        byte[] voxels;
        switch (compression)
        {
            case "":
                voxels = await RequestBody.ReadAsync(http, expected);
                break;
            case "lz4":
                voxels = await ImageblkEndpoints.ReadLz4VoxelsAsync(http, expected, box, o);
                break;
            case "gzip":
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
            throw Reject.BadRequest($"expected {expected} bytes for data \"{labels.Data.Instance.Name}\" label PUT but only received {voxels.Length} bytes");
        await labels.WriteAsync(box, voxels, http.RequestAborted);
    }

    private static async Task GetLabel(HttpContext http, string coord)
    {
        var p = GeometryStrings.ParsePoint(coord, "coordinate");
        var labels = Labels(http);
        var label = (await labels.LabelsAtAsync([p], Flag(http, "supervoxels"), http.RequestAborted, Scale(http, labels)))[0];
        await SendJson(http, $"{{\"Label\": {label}}}");
    }

    private static async Task GetLabels(HttpContext http, IOptions<DicedOptions> o)
    {
        var volume = Labels(http);
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

    /// <summary>Refuses block coordinates whose voxels fall outside the 32-bit voxel grid.</summary>
    private static void CheckBlockInGrid(Point3 b, Point3 bs)
    {
        static bool Fits(int c, int size) => (long)c * size >= int.MinValue && ((long)c + 1) * size - 1 <= int.MaxValue;
        if (!Fits(b.X, bs.X) || !Fits(b.Y, bs.Y) || !Fits(b.Z, bs.Z))
            throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) lies outside the voxel grid (32-bit voxel coordinates with blocks of {bs.X}x{bs.Y}x{bs.Z})");
    }

    /// <summary>Reads a JSON body, checking <c>?hash=</c> (hex MD5 of the body) when given.</summary>
    private static async Task<byte[]> ReadJsonBody(HttpContext http, DicedOptions o)
    {
        var body = await RequestBody.ReadAsync(http, o.MaxJsonBytes);
        var hash = http.Request.Query["hash"].ToString();
        if (hash.Length > 0)
        {
            var actual = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(body));
            if (!string.Equals(actual, hash, StringComparison.OrdinalIgnoreCase))
                throw Reject.BadRequest($"content hash incorrect.  expected {hash}, got {actual}");
        }
        return body;
    }

    private static Task SendJson(HttpContext http, string json)
        => ImageblkEndpoints.Send(http, "application/json", Encoding.UTF8.GetBytes(json));

    private static Task SendJson(HttpContext http, object value)
        => ImageblkEndpoints.Send(http, "application/json", JsonSerializer.SerializeToUtf8Bytes(value));

    // ------------------------------------------------------------------ blocks

    private enum BlockPayload { Lz4, Gzip, DvidBlocks, Uncompressed }

    private static BlockPayload ParseBlockPayload(HttpContext http, LabelVolume labels, BlockPayload defaultPayload)
    {
        var c = http.Request.Query["compression"].ToString();
        var payload = c switch
        {
            "" => defaultPayload,
            "lz4" => BlockPayload.Lz4,
            "gzip" => BlockPayload.Gzip,
            "blocks" => BlockPayload.DvidBlocks,
            "uncompressed" => BlockPayload.Uncompressed,
            _ => throw Reject.BadRequest("compression must be \"lz4\" (default), \"gzip\", \"blocks\" or \"uncompressed\""),
        };
        if (labels.Type.Kind == LabelKind.Labelblk && payload is BlockPayload.Gzip or BlockPayload.DvidBlocks)
            throw Reject.BadRequest("labelblk blocks can be sent as \"lz4\" (default) or \"uncompressed\"");
        return payload;
    }

    private static async Task GetBlocks(HttpContext http, string size, string offset, IOptions<DicedOptions> o, Throttle throttle)
    {
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        var labels = Labels(http);
        int scale = Scale(http, labels);
        ImageblkEndpoints.CheckRequestSize(box, 8, o.Value);
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
        var labels = Labels(http);
        int scale = Scale(http, labels);
        var payload = ParseBlockPayload(http, labels, BlockPayload.DvidBlocks);
        var blocks = BlockEndpoints.ParseBlockList(http.Request.Query["blocks"].ToString());
        foreach (var b in blocks) CheckBlockInGrid(b, labels.BlockSize);
        if ((long)blocks.Count * labels.Volume.BlockBytes > o.Value.MaxDataRequestBytes)
            throw Reject.BadRequest($"Requested payload ({(long)blocks.Count * labels.Volume.BlockBytes} bytes) exceeds this DVID server's set limit ({o.Value.MaxDataRequestBytes})");
        using var view = await labels.ViewAsync(scale, Flag(http, "supervoxels"), http.RequestAborted);
        await WriteFramed(http, labels, view.Mapping, view.Volume.ReadStoredAsync(blocks, http.RequestAborted), payload);
    }

    /// <summary>Writes <c>int32 x, y, z, int32 N, N bytes</c> per stored block, payload as asked.</summary>
    private static async Task WriteFramed(HttpContext http, LabelVolume labels, IReadOnlyDictionary<ulong, ulong> mapping,
        IAsyncEnumerable<(Point3 Block, byte[] Stored)> blocks, BlockPayload payload)
    {
        http.Response.ContentType = "application/octet-stream";
        var bs = labels.BlockSize;
        var voxels = new byte[labels.Volume.BlockBytes];
        var pipe = http.Response.BodyWriter;
        await foreach (var (b, stored) in blocks)
        {
            byte[] data;
            if (payload == BlockPayload.DvidBlocks)
            {
                // The label table may be rewritten in place: a DVID block's table may hold duplicates after mapping.
                var dvid = LabelBlockCodec.DvidBlock(stored);
                bool mapped = false;
                if (mapping.Count > 0)
                {
                    int n = (int)BinaryPrimitives.ReadUInt32LittleEndian(dvid.AsSpan(12));
                    var table = MemoryMarshal.Cast<byte, ulong>(dvid.AsSpan(16, 8 * n));
                    for (int i = 0; i < n; i++)
                        if (table[i] != 0 && mapping.TryGetValue(table[i], out var body)) { table[i] = body; mapped = true; }
                }
                data = !mapped && ValueEnvelope.KindOf(stored) == CompressionKind.Gzip ? ValueEnvelope.Payload(stored).ToArray() : GzipCodec.Compress(dvid);
            }
            else
            {
                labels.Volume.DecodeBlock(stored, voxels);
                if (mapping.Count > 0) LabelVolume.ApplyMapping(MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan()), mapping);
                data = payload switch
                {
                    BlockPayload.Lz4 => Lz4Block.Encode(voxels),
                    BlockPayload.Gzip => GzipCodec.Compress(voxels),
                    _ => voxels,
                };
            }
            BlockEndpoints.WriteFrame(pipe, b, data);
            if (pipe.UnflushedBytes > 1 << 20) await pipe.FlushAsync(http.RequestAborted);
        }
        await pipe.FlushAsync(http.RequestAborted);
    }

    /// <summary>
    /// <c>POST …/blocks</c>: gzip-compressed DVID label blocks in <c>x, y, z, N, bytes</c> frames. The whole body is
    /// checked (framing, gzip, block format and size) before any block is stored.
    /// </summary>
    private static async Task PostBlocks(HttpContext http, DicedOptions o, Throttle throttle, bool ingestOnly)
    {
        var c = http.Request.Query["compression"].ToString();
        if (c is not ("" or "blocks")) throw Reject.BadRequest($"compression \"{c}\" is not accepted for block POSTs; send gzip-compressed DVID blocks");
        var labels = Labels(http);
        int scale = Scale(http, labels);
        bool downres = Flag(http, "downres");
        if (downres && scale != 0) throw Reject.BadRequest("downres=true is only allowed with scale 0 blocks");
        var body = await RequestBody.ReadAsync(http, o.MaxBufferedWriteBytes);
        var bs = labels.BlockSize;
        var frames = new List<(Point3 Block, int Offset, int Length)>();
        for (int pos = 0; pos < body.Length;)
        {
            if (body.Length - pos < 16) throw Reject.BadRequest($"block stream is truncated: {body.Length - pos} bytes left where a 16-byte block header starts");
            var b = new Point3(BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(pos)), BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(pos + 4)),
                BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(pos + 8)));
            long n = BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(pos + 12));
            if (n == 0) throw Reject.BadRequest($"illegal zero length block at block ({b.X}, {b.Y}, {b.Z}) detected");
            CheckBlockInGrid(b, bs);
            if (n > body.Length - pos - 16) throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) declares {n} bytes but only {body.Length - pos - 16} remain");
            frames.Add((b, pos + 16, (int)n));
            pos += 16 + (int)n;
        }
        long voxelBytes = (long)frames.Count * labels.Volume.BlockBytes;
        if (voxelBytes > o.MaxBufferedWriteBytes)
            throw Reject.BadRequest($"{frames.Count} blocks decode to {voxelBytes} bytes, over this server's limit of {o.MaxBufferedWriteBytes} per POST; send fewer blocks per request");
        var decoded = new List<(Point3, ReadOnlyMemory<byte>)>(frames.Count);
        foreach (var (b, offset, length) in frames)
        {
            byte[] dvid;
            // No valid block of this size inflates to more than header + table + counts + indices + 9-bit values.
            long blockVoxels = bs.Product, subBlocks = blockVoxels / 512;
            long maxBlock = 16 + 8 * blockVoxels + 2 * subBlocks + 4 * blockVoxels + (9 * blockVoxels + 7) / 8;
            try { dvid = GzipCodec.Decompress(body.AsSpan(offset, length), maxBlock); }
            catch (InvalidDataException e) { throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) is not valid gzip: {e.Message}"); }
            var voxels = new byte[labels.Volume.BlockBytes];
            try
            {
                var size = LabelBlock.SizeOf(dvid);
                if (size != (bs.X, bs.Y, bs.Z))
                    throw new InvalidDataException($"it is {size.X}x{size.Y}x{size.Z}, the instance's blocks are {bs.X}x{bs.Y}x{bs.Z}");
                LabelBlock.Decode(dvid, MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan()));
            }
            catch (InvalidDataException e) { throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) is not a valid label block: {e.Message}"); }
            decoded.Add((b, voxels));
        }
        using var slot = throttle.Enter(http);
        await labels.WriteBlocksAsync(decoded, scale, downres && !ingestOnly, indexing: !(ingestOnly || Flag(http, "noindexing")), http.RequestAborted);
    }

    // ------------------------------------------------------------------ labels and bodies

    private static async Task MaxLabel(HttpContext http)
    {
        var labels = Labels(http);
        var max = await labels.MaxLabelAsync(http.RequestAborted)
            ?? throw Reject.BadRequest($"No maximum label found for {labels.Data.Instance.Name} version {labels.Data.Node.VersionId}");
        await SendJson(http, $"{{\"maxlabel\": {max}}}");
    }

    private static async Task NextLabel(HttpContext http)
        => await SendJson(http, $"{{\"nextlabel\": {await Labels(http).NextLabelAsync(http.RequestAborted)}}}");

    private static async Task ReserveLabels(HttpContext http, string count)
    {
        var labels = Labels(http);
        if (labels.Type.Kind != LabelKind.Labelmap) throw Reject.BadRequest($"{labels.Type.Name} cannot allocate labels; POST nextlabel is a labelmap action");
        if (!ulong.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == 0 || n > 1UL << 40)
            throw Reject.BadRequest($"nextlabel count must be a positive integer, got \"{count}\"");
        var (start, end) = await labels.ReserveLabelsAsync(n, http.RequestAborted);
        await SendJson(http, $"{{\"start\": {start}, \"end\": {end}}}");
    }

    private static VoxelBounds ParseBounds(HttpContext http)
    {
        int? Get(string name)
        {
            var s = http.Request.Query[name].ToString();
            if (s.Length == 0) return null;
            return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v
                : throw Reject.BadRequest($"{name} must be an integer, got \"{s}\"");
        }
        return new VoxelBounds(Get("minx"), Get("maxx"), Get("miny"), Get("maxy"), Get("minz"), Get("maxz"));
    }

    private static Task Sparsevol(HttpContext http, string label) => SparsevolOf(http, ParseNonZeroLabel(label));

    /// <summary><c>sparsevol-by-point</c>: the sparse volume of the label at a voxel (label 0 is refused).</summary>
    private static async Task SparsevolByPoint(HttpContext http, string coord)
    {
        var p = GeometryStrings.ParsePoint(coord, "coordinate");
        var labels = Labels(http);
        var label = (await labels.LabelsAtAsync([p], Flag(http, "supervoxels"), http.RequestAborted, Scale(http, labels)))[0];
        if (label == 0) throw Reject.BadRequest($"Label 0 is protected background value and cannot be used as sparse volume (voxel {p.X},{p.Y},{p.Z}).");
        await SparsevolOf(http, label);
    }

    private static async Task SparsevolOf(HttpContext http, ulong l)
    {
        var labels = Labels(http);
        int scale = Scale(http, labels);
        var format = http.Request.Query["format"].ToString();
        if (format is not ("" or "rles" or "srles" or "blocks")) throw Reject.BadRequest($"unknown sparsevol format \"{format}\"; use rles, srles or blocks");
        if (format == "blocks")
        {
            var mask = await labels.SparsevolMaskAsync(l, Flag(http, "supervoxels"), scale, http.RequestAborted);
            if (mask is null) { http.Response.StatusCode = StatusCodes.Status404NotFound; return; }
            await ImageblkEndpoints.Send(http, "application/octet-stream", mask);
            return;
        }
        var compression = http.Request.Query["compression"].ToString();
        if (compression is not ("" or "lz4" or "gzip")) throw Reject.BadRequest($"unknown compression type \"{compression}\"");
        bool exact = http.Request.Query["exact"].ToString().ToLowerInvariant() != "false";
        var runs = await labels.SparsevolAsync(l, Flag(http, "supervoxels"), ParseBounds(http), exact, http.RequestAborted, scale);
        if (runs is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        http.Response.ContentType = "application/octet-stream";
        if (runs.Count == 0) return; // the label exists but has nothing in range: 200 with an empty body, as DVID
        var encoded = SparseVolume.EncodeRuns(runs, header: format != "srles");
        if (compression == "lz4") encoded = Lz4Block.Encode(encoded);
        else if (compression == "gzip") encoded = GzipCodec.Compress(encoded);
        await ImageblkEndpoints.Send(http, "application/octet-stream", encoded);
    }

    private static async Task SparsevolExists(HttpContext http, string label)
    {
        var l = ParseNonZeroLabel(label);
        var idx = await Labels(http).IndexOfAsync(l, Flag(http, "supervoxels"), http.RequestAborted);
        var bounds = ParseBounds(http);
        var bs = Labels(http).BlockSize;
        bool any = idx is not null && idx.Blocks.Keys.Any(b => !bounds.BlockOutside(new Box(b.BlockOrigin(bs), bs)));
        http.Response.ContentType = "text/html";
        http.Response.StatusCode = any ? StatusCodes.Status200OK : StatusCodes.Status204NoContent;
    }

    private static async Task<LabelIndex> RequireIndex(HttpContext http, string label, bool supervoxelsAllowed = true)
    {
        var l = ParseNonZeroLabel(label);
        var idx = await Labels(http).IndexOfAsync(l, supervoxelsAllowed && Flag(http, "supervoxels"), http.RequestAborted);
        return idx is { IsEmpty: false } ? idx : throw Reject.NotFound($"label {l} does not exist");
    }

    private static async Task SparsevolCoarse(HttpContext http, string label)
    {
        LabelIndex idx;
        try { idx = await RequireIndex(http, label); }
        catch (Datastore.DatastoreException e) when (e.Kind == Datastore.ErrorKind.NotFound)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var bounds = ParseBounds(http);
        var bs = Labels(http).BlockSize;
        var blocks = idx.Blocks.Keys.Where(b => !bounds.BlockOutside(new Box(b.BlockOrigin(bs), bs)))
            .OrderBy(b => b.Z).ThenBy(b => b.Y).ThenBy(b => b.X).ToList();
        var runs = new List<Run>();
        foreach (var b in blocks)
        {
            if (runs.Count > 0 && runs[^1] is var last && last.Y == b.Y && last.Z == b.Z && last.X + last.Length == b.X)
                runs[^1] = last with { Length = last.Length + 1 };
            else runs.Add(new Run(b.X, b.Y, b.Z, 1));
        }
        await ImageblkEndpoints.Send(http, "application/octet-stream", SparseVolume.EncodeRuns(runs));
    }

    private static async Task SparsevolSize(HttpContext http, string label)
    {
        var idx = await RequireIndex(http, label);
        var bs = Labels(http).BlockSize;
        var min = idx.Blocks.Keys.Aggregate(Point3.Min).BlockOrigin(bs);
        var max = (idx.Blocks.Keys.Aggregate(Point3.Max) + new Point3(1, 1, 1)).BlockOrigin(bs) - new Point3(1, 1, 1);
        await SendJson(http, $"{{\"voxels\": {idx.VoxelCount}, \"numblocks\": {idx.Blocks.Count}, \"minvoxel\": [{min.X}, {min.Y}, {min.Z}], \"maxvoxel\": [{max.X}, {max.Y}, {max.Z}]}}");
    }

    private static async Task Size(HttpContext http, string label)
        => await SendJson(http, $"{{\"voxels\": {(await RequireIndex(http, label)).VoxelCount}}}");

    private static async Task Sizes(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = Labels(http);
        var ids = ParseLabelArray(await ReadJsonBody(http, o.Value), "sizes");
        bool supervoxels = Flag(http, "supervoxels");
        var sizes = new List<ulong>(ids.Count);
        foreach (var id in ids)
            sizes.Add(id == 0 ? 0 : (await labels.IndexOfAsync(id, supervoxels, http.RequestAborted))?.VoxelCount ?? 0);
        await SendJson(http, "[" + string.Join(",", sizes) + "]");
    }

    private static List<ulong> ParseLabelArray(byte[] body, string what)
    {
        using var doc = JsonBody.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Reject.BadRequest($"{what} needs a JSON array of labels");
        var list = new List<ulong>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetUInt64(out var v)) throw Reject.BadRequest($"{what}: {e.GetRawText()} is not a label");
            list.Add(v);
        }
        return list;
    }

    private static async Task SupervoxelSizes(HttpContext http, string label)
    {
        var idx = await RequireIndex(http, label, supervoxelsAllowed: false);
        var sizes = new SortedDictionary<ulong, long>();
        foreach (var counts in idx.Blocks.Values)
            foreach (var (sv, n) in counts) sizes[sv] = sizes.GetValueOrDefault(sv) + n;
        await SendJson(http, $"{{\n  \"supervoxels\": [{string.Join(",", sizes.Keys)}],\n  \"sizes\": [{string.Join(",", sizes.Values)}]\n}}");
    }

    private static async Task Supervoxels(HttpContext http, string label)
    {
        var idx = await RequireIndex(http, label, supervoxelsAllowed: false);
        await SendJson(http, "[" + string.Join(",", idx.Supervoxels().Order()) + "]");
    }

    private static async Task Mapping(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = Labels(http);
        var ids = ParseLabelArray(await ReadJsonBody(http, o.Value), "mapping");
        bool nolookup = Flag(http, "nolookup");
        var mapping = await labels.MappingAsync(http.RequestAborted);
        var bodies = new List<ulong>(ids.Count);
        foreach (var sv in ids)
        {
            if (sv == 0) { bodies.Add(0); continue; }
            if (nolookup) { bodies.Add(LabelVolume.BodyOf(mapping, sv)); continue; }
            bodies.Add(await labels.FindSupervoxelAsync(sv, http.RequestAborted) is { } found ? found.Body : 0);
        }
        await SendJson(http, "[" + string.Join(",", bodies) + "]");
    }

    private static async Task LastMod(HttpContext http, string label)
    {
        var idx = await RequireIndex(http, label, supervoxelsAllowed: false);
        await SendJson(http, new Dictionary<string, object>
        {
            ["mutation id"] = idx.LastMutationId, ["last mod user"] = idx.LastModUser, ["last mod app"] = idx.LastModApp,
            ["last mod time"] = idx.LastModTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffK", CultureInfo.InvariantCulture),
        });
    }

    private static async Task Mutations(HttpContext http)
    {
        var records = await Labels(http).MutationsAsync(http.RequestAborted);
        var user = http.Request.Query["userid"].ToString();
        if (user.Length > 0) records = records.Where(r => r.TryGetProperty("User", out var u) && u.GetString() == user).ToList();
        await SendJson(http, records);
    }

    private static async Task Merge(HttpContext http, IOptions<DicedOptions> o)
    {
        var ids = ParseLabelArray(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), "merge");
        if (ids.Count < 2) throw Reject.BadRequest("merge needs a JSON array of at least 2 labels: [target, merged1, ...]");
        var labels = Labels(http);
        var id = await labels.MergeAsync(ids[0], ids.Skip(1).ToList(), http.RequestAborted);
        if (labels.HasMapping) await SendJson(http, $"{{\"MutationID\": {id}}}"); // labelarray answers an empty 200, as DVID

    }

    private static async Task Cleave(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var l = ParseLabel(label);
        var body = await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes);
        if (JsonBody.IsBlank(body)) throw Reject.BadRequest("no cleave supervoxels JSON was POSTed");
        var (cleaved, id) = await Labels(http).CleaveAsync(l, ParseLabelArray(body, "cleave"), http.RequestAborted);
        await SendJson(http, $"{{\"CleavedLabel\": {cleaved}, \"MutationID\": {id}}}");
    }

    private static ulong? OptionalLabel(HttpContext http, string name)
    {
        var s = http.Request.Query[name].ToString();
        return s.Length == 0 ? null : ParseLabel(s);
    }

    private static async Task SplitSupervoxel(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var sv = ParseNonZeroLabel(label);
        var labels = Labels(http);
        var runs = SparseVolume.ParseRuns(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        bool downres = http.Request.Query["downres"].ToString().ToLowerInvariant() != "false";
        var (split, remain, id) = await labels.SplitSupervoxelAsync(sv, runs, OptionalLabel(http, "split"), OptionalLabel(http, "remain"), downres, http.RequestAborted);
        await SendJson(http, $"{{\"SplitSupervoxel\": {split}, \"RemainSupervoxel\": {remain}, \"MutationID\": {id}}}");
    }

    private static async Task Split(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        if (!o.Value.AllowLabelmapSplit) throw Reject.BadRequest("Split endpoint deactivated in this DVID server's configuration.");
        var l = ParseNonZeroLabel(label);
        var runs = SparseVolume.ParseRuns(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var (newLabel, id) = await Labels(http).SplitAsync(l, runs, http.RequestAborted);
        await SendJson(http, $"{{\"label\": {newLabel}, \"MutationID\": {id}}}");
    }

    private static async Task Renumber(HttpContext http, IOptions<DicedOptions> o)
    {
        var ids = ParseLabelArray(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), "renumber");
        if (ids.Count == 0 || ids.Count % 2 != 0) throw Reject.BadRequest("renumber needs a JSON array of [new1, old1, new2, old2, ...] pairs");
        await Labels(http).RenumberAsync(Enumerable.Range(0, ids.Count / 2).Select(i => (ids[2 * i], ids[2 * i + 1])).ToList(), http.RequestAborted);
    }

    private static async Task GetIndex(HttpContext http, string label)
    {
        var l = ParseNonZeroLabel(label);
        var idx = await Labels(http).IndexOfAsync(l, false, http.RequestAborted);
        if (idx is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (Flag(http, "metadata-only"))
        {
            await SendJson(http, new Dictionary<string, object>
            {
                ["num_voxels"] = idx.VoxelCount, ["last_mutid"] = idx.LastMutationId,
                ["last_mod_time"] = idx.LastModTime.ToString(Wire.LabelMessages.TimeFormat, CultureInfo.InvariantCulture),
                ["last_mod_user"] = idx.LastModUser, ["last_mod_app"] = idx.LastModApp,
            });
            return;
        }
        await ImageblkEndpoints.Send(http, "application/octet-stream", Wire.LabelMessages.EncodeIndex(idx));
    }

    private static LabelIndex DecodeIndex(ReadOnlySpan<byte> body)
    {
        try { return Wire.LabelMessages.DecodeIndex(body); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"body is not a LabelIndex protobuf: {e.Message}"); }
    }

    private static async Task PostIndex(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var l = ParseNonZeroLabel(label);
        var idx = DecodeIndex(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        await Labels(http).SetIndexAsync(l, idx, http.RequestAborted);
    }

    private static async Task GetIndices(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = Labels(http);
        var ids = ParseLabelArray(await ReadJsonBody(http, o.Value), "indices");
        if (ids.Count > 50_000) throw Reject.BadRequest($"indices takes at most 50000 labels per request, got {ids.Count}");
        var found = new List<LabelIndex>();
        foreach (var id in ids)
            if (id != 0 && await labels.IndexOfAsync(id, false, http.RequestAborted) is { } idx) found.Add(idx);
        await ImageblkEndpoints.Send(http, "application/octet-stream", Wire.LabelMessages.EncodeIndices(found));
    }

    private static async Task PostIndices(HttpContext http, IOptions<DicedOptions> o)
    {
        List<LabelIndex> list;
        try { list = Wire.LabelMessages.DecodeIndices(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes)); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"body is not a LabelIndices protobuf: {e.Message}"); }
        if (list.Any(i => i.Label == 0)) throw Reject.BadRequest("every LabelIndex in indices must name its label (not 0)");
        await Labels(http).SetIndicesAsync(list.Select(i => (i.Label, i)).ToList(), http.RequestAborted);
    }

    private static async Task GetMappings(HttpContext http)
    {
        var mapping = await Labels(http).MappingAsync(http.RequestAborted);
        var sorted = mapping.OrderBy(kv => kv.Key).ToList();
        if (http.Request.Query["format"].ToString() == "binary")
        {
            var bin = new byte[16 * sorted.Count];
            for (int i = 0; i < sorted.Count; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bin.AsSpan(16 * i), sorted[i].Key);
                BinaryPrimitives.WriteUInt64LittleEndian(bin.AsSpan(16 * i + 8), sorted[i].Value);
            }
            await ImageblkEndpoints.Send(http, "application/octet-stream", bin);
            return;
        }
        var text = new StringBuilder();
        foreach (var (sv, body) in sorted) text.Append(sv).Append(' ').Append(body).Append('\n');
        await ImageblkEndpoints.Send(http, "text/plain", Encoding.UTF8.GetBytes(text.ToString()));
    }

    private static async Task PostMappings(HttpContext http, IOptions<DicedOptions> o)
    {
        List<(ulong Mapped, List<ulong> Original)> ops;
        try { ops = Wire.LabelMessages.DecodeMappingOps(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes)); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"body is not a MappingOps protobuf: {e.Message}"); }
        await Labels(http).SetMappingsAsync(ops, http.RequestAborted);
    }
}
