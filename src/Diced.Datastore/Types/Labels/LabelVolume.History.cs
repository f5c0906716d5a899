using System.Text.Json;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>Reading the mutation log: every record, records of a range of versions, supervoxel splits, a body's history.</summary>
public sealed partial class LabelVolume
{
    /// <summary>The mutation records visible here (this version and its ancestors), in mutation order.</summary>
    public Task<List<JsonElement>> MutationsAsync(CancellationToken ct = default) => MutationLog.ReadAsync(_data, MutationClass, ct);

    /// <summary>This version and its first parents, newest first, down to <paramref name="from"/> (or the root).</summary>
    private List<NodeRecord> Chain(uint? from = null) => Datastore.FirstParentChain(_data.Repo.State, _data.Node.VersionId, from);

    private static string ActionOf(JsonElement r) => r.TryGetProperty("Action", out var a) ? a.GetString() ?? "" : "";

    private static string UuidOf(JsonElement r) => r.TryGetProperty("UUID", out var u) ? u.GetString() ?? "" : "";

    /// <summary>
    /// DVID's <c>mutations-range/&lt;from&gt;/&lt;this&gt;</c>: the records made in this version and its first parents down to
    /// <paramref name="from"/>, newest version first, each version's records in mutation order.
    /// </summary>
    public async Task<List<JsonElement>> MutationsSinceAsync(uint from, CancellationToken ct = default)
        => MutationLog.InVersions(await MutationsAsync(ct), Chain(from));

    /// <summary>
    /// DVID's <c>supervoxel-splits</c>: for this version and each first parent (newest first) that split supervoxels,
    /// its UUID then its splits as <c>[mutation id, old, remain, split]</c>.
    /// </summary>
    public async Task<List<(string Uuid, List<ulong[]> Splits)>> SupervoxelSplitsAsync(CancellationToken ct = default)
    {
        var records = await MutationsAsync(ct);
        var result = new List<(string, List<ulong[]>)>();
        foreach (var node in Chain())
        {
            var splits = new List<ulong[]>();
            foreach (var r in records.Where(r => UuidOf(r) == node.Uuid))
            {
                ulong id = r.GetProperty("MutationID").GetUInt64();
                switch (ActionOf(r))
                {
                    case "split-supervoxel-complete":
                        splits.Add([id, r.GetProperty("Supervoxel").GetUInt64(), r.GetProperty("RemainSupervoxel").GetUInt64(), r.GetProperty("SplitSupervoxel").GetUInt64()]);
                        break;
                    case "split-complete" when r.TryGetProperty("SVSplits", out var svs):
                        foreach (var p in svs.EnumerateObject())
                            splits.Add([id, ulong.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p.Value.GetProperty("Remain").GetUInt64(), p.Value.GetProperty("Split").GetUInt64()]);
                        break;
                }
            }
            if (splits.Count > 0) result.Add((node.Uuid, splits));
        }
        return result;
    }

    /// <summary>
    /// DVID's <c>history/&lt;label&gt;/&lt;from&gt;/&lt;to&gt;</c>, asked of the <c>to</c> version: the mutations, oldest first, between
    /// <paramref name="from"/> and here that involved the bodies which, at <paramref name="from"/>, held the supervoxels of
    /// <paramref name="label"/> here (merges into and cleaves and splits of those bodies; splits of those supervoxels).
    /// </summary>
    public async Task<List<JsonElement>> HistoryAsync(ulong label, LabelVolume from, CancellationToken ct = default)
    {
        RequireIndex();
        var index = await GetIndexAsync(label, ct);
        if (index is null) return [];
        var supervoxels = index.Supervoxels();
        var mappingThen = await from.MappingAsync(ct);
        var bodiesThen = supervoxels.Select(sv => BodyOf(mappingThen, sv)).ToHashSet();
        bodiesThen.Add(label);
        var records = await MutationsSinceAsync(from._data.Node.VersionId, ct);
        var byVersion = records.GroupBy(UuidOf).ToDictionary(g => g.Key, g => g.ToList());
        var result = new List<JsonElement>();
        foreach (var node in Enumerable.Reverse(Chain(from._data.Node.VersionId)))
            foreach (var r in byVersion.GetValueOrDefault(node.Uuid) ?? [])
            {
                bool involved = ActionOf(r) switch
                {
                    "merge-complete" => bodiesThen.Contains(r.GetProperty("Target").GetUInt64())
                        || r.GetProperty("Labels").EnumerateArray().Any(l => bodiesThen.Contains(l.GetUInt64())),
                    "cleave-complete" => bodiesThen.Contains(r.GetProperty("OrigLabel").GetUInt64()),
                    "split-complete" => bodiesThen.Contains(r.GetProperty("Target").GetUInt64()),
                    "split-supervoxel-complete" => supervoxels.Contains(r.GetProperty("SplitSupervoxel").GetUInt64())
                        || supervoxels.Contains(r.GetProperty("RemainSupervoxel").GetUInt64()),
                    "renumber-complete" => bodiesThen.Contains(r.GetProperty("OrigLabel").GetUInt64()),
                    _ => false,
                };
                if (involved) result.Add(r);
            }
        return result;
    }
}
