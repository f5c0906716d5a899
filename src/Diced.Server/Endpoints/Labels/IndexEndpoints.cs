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
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Label indices and mappings as DVID stores them: index, indices (protobuf), mappings (text, binary, protobuf).</summary>
internal static class IndexEndpoints
{
    public static void Map(RouteGroupBuilder m)
    {
        m.MapMethods("index/{label}", DvidRouting.GetAndHead, GetIndex);
        m.MapPost("index/{label}", PostIndex);
        m.MapMethods("indices", DvidRouting.GetAndHead, GetIndices);
        m.MapMethods("indices-compressed", DvidRouting.GetAndHead, GetIndicesCompressed);
        m.MapMethods("index-version/{label}", DvidRouting.GetAndHead, IndexVersion);
        m.MapPost("indices", PostIndices);
        m.MapMethods("mappings", DvidRouting.GetAndHead, GetMappings);
        m.MapPost("mappings", PostMappings);
    }

    private static async Task GetIndex(HttpContext http, string label)
    {
        var l = ParseNonZeroLabel(label);
        var idx = await LabelsOf(http).IndexOfAsync(l, false, http.RequestAborted);
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
        await VoxelResponses.Send(http, "application/octet-stream", Wire.LabelMessages.EncodeIndex(idx));
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
        await LabelsOf(http).SetIndexAsync(l, idx, http.RequestAborted);
    }

    private static async Task GetIndices(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = LabelsOf(http);
        var ids = ParseLabelArray(await ReadJsonBody(http, o.Value), "indices");
        if (ids.Count > 50_000) throw Reject.BadRequest($"indices takes at most 50000 labels per request, got {ids.Count}");
        var found = new List<LabelIndex>();
        foreach (var id in ids)
            if (id != 0 && await labels.IndexOfAsync(id, false, http.RequestAborted) is { } idx) found.Add(idx);
        await VoxelResponses.Send(http, "application/octet-stream", Wire.LabelMessages.EncodeIndices(found));
    }

    /// <summary>
    /// <c>indices-compressed</c> (JSON array of labels in the body): per label <c>uint64 N</c>, <c>uint64 label</c>, then N
    /// bytes of the index as DVID stores it (its LabelIndex protobuf in DVID's LZ4 value envelope; N = 0 when missing).
    /// </summary>
    private static async Task GetIndicesCompressed(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = LabelsOf(http);
        var ids = ParseLabelArray(await ReadJsonBody(http, o.Value), "indices-compressed");
        if (ids.Count == 0) throw Reject.BadRequest("indices-compressed needs a JSON array of labels");
        if (ids.Count > 50_000) throw Reject.BadRequest($"indices-compressed takes at most 50000 labels per request, got {ids.Count}");
        using var ms = new MemoryStream();
        var head = new byte[16];
        foreach (var id in ids)
        {
            var idx = id == 0 ? null : await labels.IndexOfAsync(id, false, http.RequestAborted);
            var stored = idx is null ? [] : ValueEnvelope.Encode(Wire.LabelMessages.EncodeIndex(idx), CompressionSpec.Lz4);
            BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)stored.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(head.AsSpan(8), id);
            ms.Write(head);
            ms.Write(stored);
        }
        await VoxelResponses.Send(http, "application/octet-stream", ms.ToArray());
    }

    /// <summary><c>index-version/&lt;label&gt;</c>: the full UUID of the version that stored the label's index (text); 404 when there is none.</summary>
    private static async Task IndexVersion(HttpContext http, string label)
    {
        var uuid = await LabelsOf(http).IndexVersionAsync(ParseNonZeroLabel(label), http.RequestAborted)
            ?? throw Reject.NotFound($"label {label} has no index here");
        await VoxelResponses.Send(http, "text/plain", Encoding.UTF8.GetBytes(uuid));
    }

    private static async Task PostIndices(HttpContext http, IOptions<DicedOptions> o)
    {
        List<LabelIndex> list;
        try { list = Wire.LabelMessages.DecodeIndices(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes)); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"body is not a LabelIndices protobuf: {e.Message}"); }
        if (list.Any(i => i.Label == 0)) throw Reject.BadRequest("every LabelIndex in indices must name its label (not 0)");
        await LabelsOf(http).SetIndicesAsync(list.Select(i => (i.Label, i)).ToList(), http.RequestAborted);
    }

    private static async Task GetMappings(HttpContext http)
    {
        var mapping = await LabelsOf(http).MappingAsync(http.RequestAborted);
        var sorted = mapping.OrderBy(kv => kv.Key).ToList();
        if (http.Request.Query["format"].ToString() == "binary")
        {
            var bin = new byte[16 * sorted.Count];
            for (int i = 0; i < sorted.Count; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bin.AsSpan(16 * i), sorted[i].Key);
                BinaryPrimitives.WriteUInt64LittleEndian(bin.AsSpan(16 * i + 8), sorted[i].Value);
            }
            await VoxelResponses.Send(http, "application/octet-stream", bin);
            return;
        }
        var text = new StringBuilder();
        foreach (var (sv, body) in sorted) text.Append(sv).Append(' ').Append(body).Append('\n');
        await VoxelResponses.Send(http, "text/plain", Encoding.UTF8.GetBytes(text.ToString()));
    }

    private static async Task PostMappings(HttpContext http, IOptions<DicedOptions> o)
    {
        List<(ulong Mapped, List<ulong> Original)> ops;
        try { ops = Wire.LabelMessages.DecodeMappingOps(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes)); }
        catch (InvalidDataException e) { throw Reject.BadRequest($"body is not a MappingOps protobuf: {e.Message}"); }
        await LabelsOf(http).SetMappingsAsync(ops, http.RequestAborted);
    }
}
