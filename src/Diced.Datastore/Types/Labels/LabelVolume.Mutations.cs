using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;
using Diced.Codecs.SparseVolumes;

namespace Diced.Datastore.Types.Labels;

/// <summary>
/// Mutations: merge, cleave, split, split-supervoxel, renumber, and direct index and mapping writes. Each one is a
/// single transaction: its voxel, pyramid, index and mapping changes and its mutation-log entry commit together.
/// Checks run inside the transaction, so a mutation that no longer applies changes nothing.
/// </summary>
public sealed partial class LabelVolume
{
    private string MutationCounter => "mutation/" + _data.Repo.Root;

    /// <summary>A new mutation id, reserved (persisted) at once: a mutation that then fails leaves a gap, never a repeat.</summary>
    private async Task<ulong> NewMutationAsync(CancellationToken ct) => await _counters.ReserveAsync(MutationCounter, 1, 1, ct);

    /// <summary>A mapping-changing mutation: labelmap only, indexed.</summary>
    private Task<T> MutateAsync<T>(Func<Transaction, Task<T>> body, CancellationToken ct, bool needsMapping = true)
    {
        if (needsMapping && !HasMapping) throw DatastoreException.BadRequest($"{Type.Name} does not support this mutation");
        RequireIndex();
        return ChangeAsync(body, ct);
    }

    /// <summary>
    /// Records a mutation in this instance's durable log, in the transaction (ordered by mutation id, visible in
    /// descendants), as DVID's mutation log and Kafka messages have it: a flat record whose <c>Action</c> is
    /// <c>&lt;action&gt;-complete</c>, with the action's fields, <c>MutationID</c>, <c>UUID</c>, <c>User</c>, <c>App</c> and
    /// a <c>Timestamp</c> in Go's format (what neuclease parses).
    /// </summary>
    private void LogMutation(Transaction tx, ulong id, string action, IReadOnlyDictionary<string, object> fields)
    {
        var record = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["Action"] = action + "-complete", ["MutationID"] = id, ["UUID"] = _data.Node.Uuid, ["User"] = Context.User,
            ["App"] = Context.App, ["Timestamp"] = TimeFormat.GoTime(DateTimeOffset.UtcNow),
        };
        foreach (var (k, v) in fields) record[k] = v;
        tx.Put(Key(MutationClass, id), JsonSerializer.SerializeToUtf8Bytes(record));
    }

    /// <summary>Merges bodies into <paramref name="target"/>: their supervoxels map to it, their indices fold into its.</summary>
    public Task<ulong> MergeAsync(ulong target, IReadOnlyList<ulong> merged, CancellationToken ct = default)
    {
        CheckLabel(target, "merges");
        foreach (var m in merged) CheckLabel(m, "merges");
        if (merged.Count == 0) throw DatastoreException.BadRequest("merge needs a target and at least one label to merge");
        if (merged.Contains(target)) throw DatastoreException.BadRequest($"cannot merge label {target} into itself");
        if (!HasMapping) return MergeByRewriteAsync(target, merged, ct);
        return MutateAsync(async tx =>
        {
            var into = await IndexInAsync(tx, target, ct) ?? throw DatastoreException.BadRequest($"can't merge into a non-existent label {target}");
            var sources = new List<LabelIndex>();
            foreach (var m in merged.Distinct())
                sources.Add(await IndexInAsync(tx, m, ct) ?? throw DatastoreException.BadRequest($"can't merge non-existent label {m}"));
            ulong id = await NewMutationAsync(ct);
            foreach (var src in sources)
            {
                SetMapping(tx, src.Supervoxels(), target);
                into.Absorb(src);
                tx.Delete(Key(IndexClass, src.Label));
            }
            await UpdateIndexAsync(tx, target, idx => { idx.Blocks.Clear(); idx.Absorb(into); idx.LastMutationId = id; }, ct);
            foreach (var f in Followers) await f.BodiesMergedAsync(tx, target, sources.Select(s => s.Label).ToList(), ct);
            LogMutation(tx, id, "merge", new Dictionary<string, object> { ["Target"] = target, ["Labels"] = merged });
            return id;
        }, ct);
    }

    /// <summary>labelarray's merge: no mapping, so the merged labels' voxels are rewritten to the target.</summary>
    private Task<ulong> MergeByRewriteAsync(ulong target, IReadOnlyList<ulong> merged, CancellationToken ct)
        => MutateAsync(async tx =>
        {
            if (await IndexInAsync(tx, target, ct) is null) throw DatastoreException.BadRequest($"can't merge into a non-existent label {target}");
            var blocks = new HashSet<Point3>();
            foreach (var m in merged.Distinct())
                blocks.UnionWith((await IndexInAsync(tx, m, ct) ?? throw DatastoreException.BadRequest($"can't merge non-existent label {m}")).Blocks.Keys);
            ulong id = await NewMutationAsync(ct);
            var set = merged.ToHashSet();
            var changes = new BlockChanges();
            var changed = await Volume.ModifyBlocksAsync(tx, blocks, (b, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                bool any = false;
                for (int i = 0; i < labels.Length; i++)
                    if (set.Contains(labels[i])) { labels[i] = target; any = true; }
                return any;
            }, changes.Observe, ct);
            await ApplyBlockChangesAsync(tx, changes, indexing: true, null, ct);
            await DownresAsync(tx, changed, ct);
            await VoxelsChangedAsync(tx, changed, null, ct);
            LogMutation(tx, id, "merge", new Dictionary<string, object> { ["Target"] = target, ["Labels"] = merged });
            return id;
        }, ct, needsMapping: false);

    /// <summary>Moves supervoxels of <paramref name="label"/> to a newly allocated body.</summary>
    public Task<(ulong Cleaved, ulong MutationId)> CleaveAsync(ulong label, IReadOnlyList<ulong> supervoxels, CancellationToken ct = default)
    {
        CheckLabel(label, "cleaves");
        if (supervoxels.Count == 0) throw DatastoreException.BadRequest("no cleave supervoxels JSON was POSTed");
        return MutateAsync(async tx =>
        {
            var idx = await IndexInAsync(tx, label, ct) ?? throw DatastoreException.BadRequest($"cannot cleave non-existent label {label}");
            var all = idx.Supervoxels();
            var moving = supervoxels.ToHashSet();
            foreach (var sv in moving)
                if (!all.Contains(sv)) throw DatastoreException.BadRequest($"cannot cleave supervoxel {sv}, which does not exist in label {label}");
            if (moving.Count == all.Count) throw DatastoreException.BadRequest($"cannot cleave all supervoxels from the label {label}");
            var (newLabel, _) = await ReserveLabelsAsync(1, ct);
            ulong id = await NewMutationAsync(ct);
            var cleaved = idx.Extract(moving, newLabel);
            SetMapping(tx, moving, newLabel);
            await UpdateIndexAsync(tx, label, i => { i.Blocks.Clear(); i.Absorb(idx); i.LastMutationId = id; }, ct);
            await UpdateIndexAsync(tx, newLabel, i => { i.Blocks.Clear(); i.Absorb(cleaved); i.LastMutationId = id; }, ct);
            foreach (var f in Followers) await f.SupervoxelsMovedAsync(tx, label, newLabel, moving, ct);
            LogMutation(tx, id, "cleave", new Dictionary<string, object>
            {
                ["OrigLabel"] = label, ["CleavedLabel"] = newLabel, ["CleavedSupervoxels"] = supervoxels,
                ["CleavedSize"] = cleaved.VoxelCount, ["RemainSize"] = idx.VoxelCount,
            });
            return (newLabel, id);
        }, ct);
    }

    /// <summary>The labels <paramref name="hit"/> accepts under the runs (checked before a split changes anything).</summary>
    private async Task<HashSet<ulong>> RunsHitAsync(Transaction tx, Dictionary<Point3, List<(int Index, int Length)>> byBlock, Func<ulong, bool> hit, CancellationToken ct)
    {
        var found = new HashSet<ulong>();
        var buffer = new byte[Volume.BlockBytes];
        foreach (var (b, rows) in byBlock)
        {
            if (!await Volume.TryReadBlockAsync(tx, b, buffer, ct)) continue;
            var labels = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
            foreach (var (at, n) in rows)
                for (int i = at; i < at + n; i++)
                    if (hit(labels[i])) found.Add(labels[i]);
        }
        return found;
    }

    /// <summary>
    /// Splits supervoxel <paramref name="sv"/>: its voxels inside <paramref name="runs"/> become <paramref name="splitId"/>,
    /// the rest <paramref name="remainId"/> (new ids when not given); both stay in the supervoxel's body.
    /// </summary>
    public Task<(ulong Split, ulong Remain, ulong MutationId)> SplitSupervoxelAsync(ulong sv, List<Run> runs, ulong? splitId, ulong? remainId, bool downres, CancellationToken ct = default)
    {
        CheckLabel(sv, "splits");
        if (splitId is { } s1 && remainId is { } r1 && s1 == r1) throw DatastoreException.BadRequest($"split and remain ids must differ (both {s1})");
        return MutateAsync(async tx =>
        {
            var (body, index) = await FindSupervoxelNowAsync(sv, ct) ?? throw DatastoreException.BadRequest($"supervoxel {sv} does not exist");
            var svBlocks = index.Blocks.Where(b => b.Value.ContainsKey(sv)).Select(b => b.Key).ToHashSet();
            var byBlock = SparseRuns.RunsByBlock(runs, svBlocks, BlockSize); // runs through blocks without the supervoxel change nothing there
            foreach (var wanted in new[] { splitId, remainId })
                if (wanted is { } given && (given == 0 || given == sv || await FindSupervoxelNowAsync(given, ct) is not null))
                    throw DatastoreException.BadRequest($"cannot use {given} as a new supervoxel id: it is 0, the split supervoxel, or already exists");
            if ((await RunsHitAsync(tx, byBlock, l => l == sv, ct)).Count == 0) throw DatastoreException.BadRequest($"the split volume does not overlap supervoxel {sv}");
            ulong split = splitId ?? (await ReserveLabelsAsync(1, ct)).Start;
            ulong remain = remainId ?? (await ReserveLabelsAsync(1, ct)).Start;
            ulong id = await NewMutationAsync(ct);
            SetMapping(tx, [split, remain], body);
            long splitVoxels = 0;
            var changes = new BlockChanges();
            var changed = await Volume.ModifyBlocksAsync(tx, svBlocks, (b, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                var inside = new bool[labels.Length];
                if (byBlock.TryGetValue(b, out var rows)) foreach (var (at, n) in rows) inside.AsSpan(at, n).Fill(true);
                bool any = false;
                for (int i = 0; i < labels.Length; i++)
                {
                    if (labels[i] != sv) continue;
                    if (inside[i]) { labels[i] = split; Interlocked.Increment(ref splitVoxels); }
                    else labels[i] = remain;
                    any = true;
                }
                return any;
            }, changes.Observe, ct);
            if (splitVoxels == 0) throw DatastoreException.BadRequest($"the split volume does not overlap supervoxel {sv}");
            // The new supervoxels belong to the body, which the stored mapping learns only at the commit.
            await ApplyBlockChangesAsync(tx, changes, indexing: true, new Dictionary<ulong, ulong> { [split] = body, [remain] = body }, ct);
            if (downres) await DownresAsync(tx, changed, ct);
            await VoxelsChangedAsync(tx, changed, new Dictionary<ulong, ulong> { [split] = body, [remain] = body }, ct);
            await UpdateIndexAsync(tx, body, i => i.LastMutationId = id, ct);
            long svVoxels = index.Blocks.Values.Sum(c => c.TryGetValue(sv, out var n) ? (long)n : 0);
            LogMutation(tx, id, "split-supervoxel", new Dictionary<string, object>
            {
                ["Supervoxel"] = sv, ["SplitSupervoxel"] = split, ["RemainSupervoxel"] = remain, ["Body"] = body,
                ["SplitSize"] = splitVoxels, ["RemainSize"] = svVoxels - splitVoxels,
            });
            return (split, remain, id);
        }, ct);
    }

    /// <summary>
    /// Splits a body: its voxels inside <paramref name="runs"/> get new supervoxel ids (one per supervoxel touched)
    /// that map to a new body, returned with the mutation id.
    /// </summary>
    public Task<(ulong NewBody, ulong MutationId)> SplitAsync(ulong label, List<Run> runs, CancellationToken ct = default)
    {
        CheckLabel(label, "splits");
        return MutateAsync(async tx =>
        {
            var index = await IndexInAsync(tx, label, ct) ?? throw DatastoreException.BadRequest($"cannot split non-existent label {label}");
            var byBlock = SparseRuns.RunsByBlock(runs, index.Blocks.Keys.ToHashSet(), BlockSize);
            var members = index.Supervoxels();
            var touched = await RunsHitAsync(tx, byBlock, members.Contains, ct);
            if (touched.Count == 0) throw DatastoreException.BadRequest($"the split volume does not overlap label {label}");
            var (newBody, _) = await ReserveLabelsAsync(1, ct);
            var (first, _) = await ReserveLabelsAsync((ulong)touched.Count, ct);
            var fresh = touched.Order().Select((sv, i) => (sv, id: first + (ulong)i)).ToDictionary(p => p.sv, p => p.id);
            ulong id = await NewMutationAsync(ct);
            SetMapping(tx, fresh.Values, newBody);
            long moved = 0;
            var changes = new BlockChanges();
            var changed = await Volume.ModifyBlocksAsync(tx, byBlock.Keys.ToList(), (b, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                bool any = false;
                foreach (var (at, n) in byBlock[b])
                    for (int i = at; i < at + n; i++)
                        if (fresh.TryGetValue(labels[i], out var to)) { labels[i] = to; any = true; Interlocked.Increment(ref moved); }
                return any;
            }, changes.Observe, ct);
            if (moved == 0) throw DatastoreException.BadRequest($"the split volume does not overlap label {label}");
            await ApplyBlockChangesAsync(tx, changes, indexing: true, fresh.Values.ToDictionary(v => v, _ => newBody), ct);
            await DownresAsync(tx, changed, ct);
            await VoxelsChangedAsync(tx, changed, fresh.Values.ToDictionary(v => v, _ => newBody), ct);
            await UpdateIndexAsync(tx, newBody, i => i.LastMutationId = id, ct);
            // DVID's SVSplits: each supervoxel cut by the split, with the id its split part got (the rest keeps the old id).
            var svSplits = fresh.ToDictionary(p => p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
                p => (object)new Dictionary<string, ulong> { ["Split"] = p.Value, ["Remain"] = p.Key });
            LogMutation(tx, id, "split", new Dictionary<string, object> { ["Target"] = label, ["NewLabel"] = newBody, ["SVSplits"] = svSplits });
            return (newBody, id);
        }, ct);
    }

    /// <summary>Renames bodies: each (new, old) pair moves body <c>old</c>'s supervoxels and index to <c>new</c>.</summary>
    public Task<ulong> RenumberAsync(IReadOnlyList<(ulong New, ulong Old)> pairs, CancellationToken ct = default)
    {
        foreach (var (n, o) in pairs) { CheckLabel(n, "renumbering"); CheckLabel(o, "renumbering"); }
        var all = pairs.SelectMany(p => new[] { p.New, p.Old }).ToList();
        if (all.Distinct().Count() != all.Count) throw DatastoreException.BadRequest("renumber pairs must not repeat a label");
        return MutateAsync(async tx =>
        {
            var sources = new List<(ulong New, LabelIndex Index)>();
            foreach (var (n, o) in pairs)
            {
                if (n == o) continue;
                var idx = await IndexInAsync(tx, o, ct) ?? throw DatastoreException.BadRequest($"cannot renumber non-existent label {o}");
                if (await IndexInAsync(tx, n, ct) is not null) throw DatastoreException.BadRequest($"cannot renumber {o} to {n}: label {n} already exists");
                sources.Add((n, idx));
            }
            ulong first = 0;
            foreach (var (n, idx) in sources)
            {
                // One mutation (and one log record) per pair, as DVID logs them.
                ulong id = await NewMutationAsync(ct);
                if (first == 0) first = id;
                ulong orig = idx.Label;
                SetMapping(tx, idx.Supervoxels(), n);
                tx.Delete(Key(IndexClass, orig));
                await UpdateIndexAsync(tx, n, i => { i.Absorb(idx); i.LastMutationId = id; }, ct);
                await _counters.RaiseCounterAsync(LabelCounter, n, ct);
                foreach (var f in Followers) await f.BodiesMergedAsync(tx, n, [orig], ct);
                LogMutation(tx, id, "renumber", new Dictionary<string, object> { ["NewLabel"] = n, ["OrigLabel"] = orig });
            }
            return first;
        }, ct);
    }

    /// <summary>Stores (or, when empty, deletes) a label's index as given (<c>POST …/index</c>, used to copy indices).</summary>
    public Task SetIndexAsync(ulong label, LabelIndex index, CancellationToken ct = default) => SetIndicesAsync([(label, index)], ct);

    /// <summary>Stores several indices in one commit (<c>POST …/indices</c>).</summary>
    public Task SetIndicesAsync(IReadOnlyList<(ulong Label, LabelIndex Index)> indices, CancellationToken ct = default)
    {
        foreach (var (label, _) in indices) CheckLabel(label, "indices");
        return MutateAsync(tx =>
        {
            foreach (var (label, index) in indices)
            {
                if (index.IsEmpty) tx.Delete(Key(IndexClass, label));
                else
                {
                    index.Label = label;
                    tx.Put(Key(IndexClass, label), index.Serialize());
                }
            }
            return Task.FromResult(0);
        }, ct);
    }

    /// <summary>Assigns supervoxels to bodies as given (<c>POST …/mappings</c>); indices are the caller's to keep.</summary>
    public Task SetMappingsAsync(IReadOnlyList<(ulong Mapped, List<ulong> Original)> ops, CancellationToken ct = default)
    {
        foreach (var (mapped, original) in ops)
        {
            CheckLabel(mapped, "mappings");
            foreach (var sv in original) CheckLabel(sv, "mappings");
        }
        return MutateAsync(async tx =>
        {
            var before = Followers.Count > 0 ? await MappingAsync(ct) : Empty;
            foreach (var (mapped, original) in ops) SetMapping(tx, original, mapped);
            foreach (var move in ops.SelectMany(op => op.Original.Select(sv => (sv, From: BodyOf(before, sv), To: op.Mapped))).Where(m => m.From != m.To).GroupBy(m => (m.From, m.To)))
                foreach (var f in Followers) await f.SupervoxelsMovedAsync(tx, move.Key.From, move.Key.To, move.Select(m => m.sv).ToHashSet(), ct);
            return 0;
        }, ct);
    }
}
