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

/// <summary>What the label routes share: the request's label volume, query options, label lists and JSON answers.</summary>
internal static class LabelRequests
{
    private static readonly object LabelsKey = new();

    /// <summary>The request's label volume, made once per request (handlers and helpers share it).</summary>
    internal static LabelVolume LabelsOf(HttpContext http)
    {
        if (http.Items.TryGetValue(LabelsKey, out var v)) return (LabelVolume)v!;
        var labels = http.Instance().Labels(http);
        http.Items[LabelsKey] = labels;
        return labels;
    }

    internal static bool Flag(HttpContext http, string name)
        => http.Request.Query[name].ToString().ToLowerInvariant() is "true" or "on" or "1";

    /// <summary>The <c>scale</c> query option (0 when absent), checked against the instance's pyramid.</summary>
    internal static int Scale(HttpContext http, LabelVolume labels)
    {
        var s = http.Request.Query["scale"].ToString();
        if (s.Length == 0) return 0;
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var scale)) throw Reject.BadRequest($"bad scale specified: {s}");
        labels.At(scale); // refuses levels the instance does not keep
        return scale;
    }

    /// <summary>The <c>scale</c> of a block route: any level 0–30, kept by the pyramid or not (as DVID).</summary>
    internal static int BlockScale(HttpContext http, LabelVolume labels)
    {
        var s = http.Request.Query["scale"].ToString();
        if (s.Length == 0) return 0;
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var scale)) throw Reject.BadRequest($"bad scale specified: {s}");
        labels.Level(scale);
        return scale;
    }

    internal static ulong ParseLabel(string text)
    {
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var label))
            throw Reject.BadRequest($"label \"{text}\" is not a non-negative 64-bit integer");
        return label;
    }

    internal static ulong ParseNonZeroLabel(string text)
    {
        var label = ParseLabel(text);
        if (label == 0) throw Reject.BadRequest("Label 0 is protected background value and cannot be used as sparse volume.");
        return label;
    }


    /// <summary>Refuses block coordinates whose voxels fall outside the 32-bit voxel grid.</summary>
    internal static void CheckBlockInGrid(Point3 b, Point3 bs)
    {
        static bool Fits(int c, int size) => (long)c * size >= int.MinValue && ((long)c + 1) * size - 1 <= int.MaxValue;
        if (!Fits(b.X, bs.X) || !Fits(b.Y, bs.Y) || !Fits(b.Z, bs.Z))
            throw Reject.BadRequest($"block ({b.X}, {b.Y}, {b.Z}) lies outside the voxel grid (32-bit voxel coordinates with blocks of {bs.X}x{bs.Y}x{bs.Z})");
    }

    /// <summary>Reads a JSON body, checking <c>?hash=</c> (hex MD5 of the body) when given.</summary>
    internal static async Task<byte[]> ReadJsonBody(HttpContext http, DicedOptions o)
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

    internal static Task SendJson(HttpContext http, string json)
        => VoxelResponses.Send(http, "application/json", Encoding.UTF8.GetBytes(json));

    internal static Task SendJson(HttpContext http, object value)
        => VoxelResponses.Send(http, "application/json", JsonSerializer.SerializeToUtf8Bytes(value));


    internal static VoxelBounds ParseBounds(HttpContext http)
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

    internal static async Task<LabelIndex> RequireIndex(HttpContext http, string label, bool supervoxelsAllowed = true)
    {
        var l = ParseNonZeroLabel(label);
        var idx = await LabelsOf(http).IndexOfAsync(l, supervoxelsAllowed && Flag(http, "supervoxels"), http.RequestAborted);
        return idx is { IsEmpty: false } ? idx : throw Reject.NotFound($"label {l} does not exist");
    }

    internal static List<ulong> ParseLabelArray(byte[] body, string what)
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

    internal static ulong? OptionalLabel(HttpContext http, string name)
    {
        var s = http.Request.Query[name].ToString();
        return s.Length == 0 ? null : ParseLabel(s);
    }
}
