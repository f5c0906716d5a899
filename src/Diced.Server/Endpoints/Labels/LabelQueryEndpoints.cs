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
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Questions about labels and bodies: max and next label, sizes, supervoxels, mapping lookups, last modification.</summary>
internal static class LabelQueryEndpoints
{
    public static void Map(LabelEndpoints.LabelRouteGroups g)
    {
        g.Sparse.MapMethods("maxlabel", DvidRouting.GetAndHead, MaxLabel);
        g.Sparse.MapMethods("nextlabel", DvidRouting.GetAndHead, NextLabel);
        g.Relabelling.MapPost("nextlabel", ReserveLabelsByJson);
        var m = g.Labelmap;
        m.MapPost("nextlabel/{count}", ReserveLabels);
        m.MapPost("maxlabel/{label}", SetMaxLabel);
        m.MapPost("set-nextlabel/{label}", SetNextLabel);
        m.MapMethods("supervoxel-sizes/{label}", DvidRouting.GetAndHead, SupervoxelSizes);
        m.MapMethods("size/{label}", DvidRouting.GetAndHead, Size);
        m.MapMethods("sizes", DvidRouting.GetAndHead, Sizes);
        m.MapMethods("supervoxels/{label}", DvidRouting.GetAndHead, Supervoxels);
        m.MapMethods("mapping", DvidRouting.GetAndHead, Mapping);
        m.MapMethods("lastmod/{label}", DvidRouting.GetAndHead, LastMod);
        m.MapMethods("listlabels", DvidRouting.GetAndHead, ListLabels);
        m.MapMethods("existing-labels", DvidRouting.GetAndHead, ExistingLabels);
        m.MapMethods("map-stats", DvidRouting.GetAndHead, MapStats);
    }

    private static async Task MaxLabel(HttpContext http)
    {
        var labels = LabelsOf(http);
        var max = await labels.MaxLabelAsync(http.RequestAborted)
            ?? throw Reject.BadRequest($"No maximum label found for {labels.Data.Instance.Name} version {labels.Data.Node.VersionId}");
        await SendJson(http, $"{{\"maxlabel\": {max}}}");
    }

    private static async Task NextLabel(HttpContext http)
        => await SendJson(http, $"{{\"nextlabel\": {await LabelsOf(http).NextLabelAsync(http.RequestAborted)}}}");

    /// <summary>labelmap's <c>POST nextlabel/{count}</c>.</summary>
    private static async Task ReserveLabels(HttpContext http, string count)
    {
        var labels = LabelsOf(http);
        if (labels.Type.Kind != LabelKind.Labelmap) throw Reject.BadRequest($"{labels.Type.Name} reserves labels with POST nextlabel and a JSON body {{\"needed\": n}}");
        await ReserveAsync(http, labels, count);
    }

    /// <summary>labelarray's and labelvol's <c>POST nextlabel</c> with <c>{"needed": n}</c>.</summary>
    private static async Task ReserveLabelsByJson(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = LabelsOf(http);
        using var body = JsonBody.ParseObject(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), allowEmpty: false);
        await ReserveAsync(http, labels, body.Raw("needed") ?? throw Reject.BadRequest("nextlabel needs a JSON body {\"needed\": <# of labels>}"));
    }

    private static async Task ReserveAsync(HttpContext http, LabelVolume labels, string count)
    {
        if (!ulong.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == 0 || n > 1UL << 40)
            throw Reject.BadRequest($"nextlabel count must be a positive integer, got \"{count}\"");
        var (start, end) = await labels.AllocateLabelsAsync(n, http.RequestAborted);
        await SendJson(http, $"{{\"start\": {start}, \"end\": {end}}}");
    }

    /// <summary>Admin routes of the label counters: DVID refuses labels above 2^48 (garbage) and label 0.</summary>
    private static ulong AdminLabel(HttpContext http, string text, string what)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<DicedOptions>>().Value;
        if (!Admin.IsAdmin(http, options))
            throw new Datastore.DatastoreException($"{what} requires admin privileges (admintoken)", Datastore.ErrorKind.Forbidden);
        var label = ParseLabel(text);
        if (label == 0 || label > 1UL << 48) throw Reject.BadRequest($"{what}: label {label} is 0 or above 2^48");
        return label;
    }

    private static Task SetMaxLabel(HttpContext http, string label)
        => LabelsOf(http).SetMaxLabelAsync(AdminLabel(http, label, "POST maxlabel"), http.RequestAborted);

    private static async Task SetNextLabel(HttpContext http, string label)
    {
        var l = AdminLabel(http, label, "POST set-nextlabel");
        ulong? ceiling = http.Request.Query.ContainsKey("ceiling") ? ParseLabel(http.Request.Query["ceiling"].ToString()) : null;
        await LabelsOf(http).SetNextLabelAsync(l, ceiling, http.RequestAborted);
    }

    /// <summary>
    /// <c>listlabels?start=&amp;number=&amp;sizes=</c>: the labels with an index, ascending, as <c>uint64</c> (with
    /// <c>sizes=true</c> each followed by its <c>uint64</c> voxel count); at most 10,000,000 per request.
    /// </summary>
    private static async Task ListLabels(HttpContext http)
    {
        ulong start = http.Request.Query.ContainsKey("start") ? ParseLabel(http.Request.Query["start"].ToString()) : 0;
        long number = 10_000_000;
        var n = http.Request.Query["number"].ToString();
        if (n.Length > 0 && (!long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out number)))
            throw Reject.BadRequest($"number must be a non-negative integer, got \"{n}\"");
        number = Math.Min(number, 10_000_000);
        bool sizes = Flag(http, "sizes");
        http.Response.ContentType = "application/octet-stream";
        var pipe = http.Response.BodyWriter;
        await foreach (var (label, voxels) in LabelsOf(http).ListLabelsAsync(start, number, sizes, http.RequestAborted))
        {
            var rec = pipe.GetSpan(16);
            BinaryPrimitives.WriteUInt64LittleEndian(rec, label);
            if (sizes) BinaryPrimitives.WriteUInt64LittleEndian(rec[8..], voxels);
            pipe.Advance(sizes ? 16 : 8);
            if (pipe.UnflushedBytes > 1 << 20) await pipe.FlushAsync(http.RequestAborted);
        }
        await pipe.FlushAsync(http.RequestAborted);
    }

    /// <summary><c>existing-labels</c>: the labels with an index, ascending, as a JSON array.</summary>
    private static async Task ExistingLabels(HttpContext http)
    {
        var labels = new List<ulong>();
        await foreach (var (label, _) in LabelsOf(http).ListLabelsAsync(0, long.MaxValue, false, http.RequestAborted)) labels.Add(label);
        await SendJson(http, "[" + string.Join(",", labels) + "]");
    }

    /// <summary><c>map-stats</c>: the supervoxel → body mapping this server holds in memory for the instance.</summary>
    private static async Task MapStats(HttpContext http)
    {
        var labels = LabelsOf(http);
        var (entries, versions, max) = labels.CachedMappingStats();
        await SendJson(http, new Dictionary<string, object>
        {
            [labels.Data.Instance.Name] = new Dictionary<string, object>
            {
                ["MapEntries"] = entries, ["MapSize"] = HumanBytes(entries * 16), ["NumVersions"] = versions, ["MaxVersion"] = max,
            },
        });
    }

    /// <summary>Bytes as Go's humanize.Bytes writes them (SI units, e.g. "83 MB").</summary>
    private static string HumanBytes(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.Length - 1) { v /= 1000; u++; }
        return u == 0 ? $"{bytes} B" : v < 10 ? $"{v.ToString("0.0", CultureInfo.InvariantCulture)} {units[u]}" : $"{Math.Round(v).ToString(CultureInfo.InvariantCulture)} {units[u]}";
    }

    private static async Task Size(HttpContext http, string label)
        => await SendJson(http, $"{{\"voxels\": {(await RequireIndex(http, label)).VoxelCount}}}");

    private static async Task Sizes(HttpContext http, IOptions<DicedOptions> o)
    {
        var labels = LabelsOf(http);
        var ids = ParseLabelArray(await ReadJsonBody(http, o.Value), "sizes");
        bool supervoxels = Flag(http, "supervoxels");
        var sizes = new List<ulong>(ids.Count);
        foreach (var id in ids)
            sizes.Add(id == 0 ? 0 : (await labels.IndexOfAsync(id, supervoxels, http.RequestAborted))?.VoxelCount ?? 0);
        await SendJson(http, "[" + string.Join(",", sizes) + "]");
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
        var labels = LabelsOf(http);
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
}
