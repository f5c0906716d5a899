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

/// <summary>Mutations of labelmap and labelarray: merge, cleave, split, split-supervoxel, renumber, and the mutation log.</summary>
internal static class MutationEndpoints
{
    public static void Map(LabelEndpoints.LabelRouteGroups g)
    {
        g.Sparse.MapPost("merge", Merge);
        g.Sparse.MapPost("split/{label}", Split);
        g.Relabelling.MapPost("split-coarse/{label}", SplitCoarse);
        var m = g.Labelmap;
        m.MapMethods("mutations", DvidRouting.GetAndHead, Mutations);
        m.MapMethods("mutations-range/{from}/{to}", DvidRouting.GetAndHead, MutationsRange);
        m.MapMethods("supervoxel-splits", DvidRouting.GetAndHead, SupervoxelSplits);
        m.MapMethods("history/{label}/{from}/{to}", DvidRouting.GetAndHead, History);
        m.MapPost("cleave/{label}", Cleave);
        m.MapPost("split-supervoxel/{label}", SplitSupervoxel);
        m.MapPost("renumber", Renumber);
        MapPostOnly(g.Sparse, "merge", "split/{label}");
        MapPostOnly(g.Relabelling, "split-coarse/{label}");
        MapPostOnly(g.Labelmap, "cleave/{label}", "split-supervoxel/{label}", "renumber");
    }

    /// <summary>DVID's "must be POST" answer to a GET of a mutation.</summary>
    private static void MapPostOnly(RouteGroupBuilder g, params string[] verbs)
    {
        foreach (var verb in verbs)
            g.MapGet(verb, (HttpContext http) => { throw Reject.BadRequest($"{verb.Split('/')[0]} requests must be POST actions."); });
    }

    private static async Task Mutations(HttpContext http)
    {
        var records = await LabelsOf(http).MutationsAsync(http.RequestAborted);
        var user = http.Request.Query["userid"].ToString();
        if (user.Length > 0) records = records.Where(r => r.TryGetProperty("User", out var u) && u.GetString() == user).ToList();
        await SendJson(http, records);
    }

    /// <summary>The instance of the request at another version of its repo (named by a UUID in the path).</summary>
    private static LabelVolume LabelsAt(HttpContext http, string uuid)
    {
        var ctx = http.Instance();
        var version = ctx.Store.Resolve(uuid);
        if (version.Repo != ctx.Version.Repo) throw Reject.BadRequest($"version {uuid} is not in the repo of {ctx.Version.Uuid}");
        return ctx.Store.LabelVolumeOf(ctx.Store.DataAt(version, ctx.Instance));
    }

    /// <summary><c>mutations-range/&lt;from&gt;/&lt;to&gt;</c>: the log of the versions from <c>to</c> back to <c>from</c>, newest first.</summary>
    private static async Task MutationsRange(HttpContext http, string from, string to)
    {
        var start = LabelsAt(http, from);
        await SendJson(http, await LabelsAt(http, to).MutationsSinceAsync(start.Data.Node.VersionId, http.RequestAborted));
    }

    private static async Task SupervoxelSplits(HttpContext http)
    {
        var splits = await LabelsOf(http).SupervoxelSplitsAsync(http.RequestAborted);
        await SendJson(http, splits.SelectMany(s => new object[] { s.Uuid, s.Splits }).ToList());
    }

    /// <summary><c>history/&lt;label&gt;/&lt;from&gt;/&lt;to&gt;</c>: the records concatenated, one JSON object after another, as DVID writes them.</summary>
    private static async Task History(HttpContext http, string label, string from, string to)
    {
        var l = ParseNonZeroLabel(label);
        var records = await LabelsAt(http, to).HistoryAsync(l, LabelsAt(http, from), http.RequestAborted);
        await VoxelResponses.Send(http, "application/json", Encoding.UTF8.GetBytes(string.Concat(records.Select(r => r.GetRawText()))));
    }

    private static async Task Merge(HttpContext http, IOptions<DicedOptions> o)
    {
        var ids = ParseLabelArray(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), "merge");
        if (ids.Count < 2) throw Reject.BadRequest("merge needs a JSON array of at least 2 labels: [target, merged1, ...]");
        var labels = LabelsOf(http);
        var id = await labels.MergeAsync(ids[0], ids.Skip(1).ToList(), http.RequestAborted);
        if (labels.HasMapping) await SendJson(http, $"{{\"MutationID\": {id}}}"); // labelarray answers an empty 200, as DVID

    }

    private static async Task Cleave(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var l = ParseLabel(label);
        var body = await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes);
        if (JsonBody.IsBlank(body)) throw Reject.BadRequest("no cleave supervoxels JSON was POSTed");
        var (cleaved, id) = await LabelsOf(http).CleaveAsync(l, ParseLabelArray(body, "cleave"), http.RequestAborted);
        await SendJson(http, $"{{\"CleavedLabel\": {cleaved}, \"MutationID\": {id}}}");
    }

    private static async Task SplitSupervoxel(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var sv = ParseNonZeroLabel(label);
        var labels = LabelsOf(http);
        var runs = SparseVolume.ParseRuns(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        bool downres = http.Request.Query["downres"].ToString().ToLowerInvariant() != "false";
        var (split, remain, id) = await labels.SplitSupervoxelAsync(sv, runs, OptionalLabel(http, "split"), OptionalLabel(http, "remain"), downres, http.RequestAborted);
        await SendJson(http, $"{{\"SplitSupervoxel\": {split}, \"RemainSupervoxel\": {remain}, \"MutationID\": {id}}}");
    }

    /// <summary>
    /// <c>POST split/&lt;label&gt;</c>: labelmap gives the split part new supervoxels and a new body (when the server allows
    /// it); labelarray relabels the voxels, into <c>?splitlabel=</c> when given.
    /// </summary>
    private static async Task Split(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var labels = LabelsOf(http);
        if (labels.HasMapping && !o.Value.AllowLabelmapSplit) throw Reject.BadRequest("Split endpoint deactivated in this DVID server's configuration.");
        var l = ParseNonZeroLabel(label);
        var runs = SparseVolume.ParseRuns(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        if (!labels.HasMapping)
        {
            var (to, _) = await labels.SplitVoxelsAsync(l, runs, OptionalLabel(http, "splitlabel"), http.RequestAborted);
            await SendJson(http, $"{{\"label\": {to}}}");
            return;
        }
        var (newLabel, id) = await labels.SplitAsync(l, runs, http.RequestAborted);
        await SendJson(http, $"{{\"label\": {newLabel}, \"MutationID\": {id}}}");
    }

    /// <summary>labelarray's <c>POST split-coarse/&lt;label&gt;[?splitlabel=X]</c>: a block-coordinate sparse volume in the body; <c>{"label": N}</c>.</summary>
    private static async Task SplitCoarse(HttpContext http, string label, IOptions<DicedOptions> o)
    {
        var l = ParseNonZeroLabel(label);
        var runs = SparseVolume.ParseRuns(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var (newLabel, _) = await LabelsOf(http).SplitCoarseAsync(l, runs, OptionalLabel(http, "splitlabel"), http.RequestAborted);
        await SendJson(http, $"{{\"label\": {newLabel}}}");
    }

    private static async Task Renumber(HttpContext http, IOptions<DicedOptions> o)
    {
        var ids = ParseLabelArray(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), "renumber");
        if (ids.Count == 0 || ids.Count % 2 != 0) throw Reject.BadRequest("renumber needs a JSON array of [new1, old1, new2, old2, ...] pairs");
        await LabelsOf(http).RenumberAsync(Enumerable.Range(0, ids.Count / 2).Select(i => (ids[2 * i], ids[2 * i + 1])).ToList(), http.RequestAborted);
    }
}
