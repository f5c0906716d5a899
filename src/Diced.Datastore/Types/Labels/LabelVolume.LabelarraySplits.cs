using System.Runtime.InteropServices;
using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>
/// labelarray's splits, which relabel voxels (there is no supervoxel mapping): <c>split</c> by a voxel sparse volume,
/// <c>split-coarse</c> by whole blocks. Each is one transaction like every mutation.
/// </summary>
public sealed partial class LabelVolume
{
    /// <summary>
    /// DVID labelarray's <c>split</c>: the voxels of <paramref name="label"/> inside <paramref name="runs"/> become
    /// <paramref name="splitLabel"/> (a new label when not given).
    /// </summary>
    public Task<(ulong NewLabel, ulong MutationId)> SplitVoxelsAsync(ulong label, List<Run> runs, ulong? splitLabel, CancellationToken ct = default)
        => MoveVoxelsAsync(label, splitLabel, "split",
            index => SparseRuns.RunsByBlock(runs, index.Blocks.Keys.ToHashSet(), BlockSize)
                .ToDictionary(kv => kv.Key, kv => (List<(int Index, int Length)>?)kv.Value), ct);

    /// <summary>
    /// DVID's <c>split-coarse</c>: every voxel of <paramref name="label"/> inside the blocks of <paramref name="blockRuns"/>
    /// (runs along x in block coordinates) becomes <paramref name="splitLabel"/> (a new label when not given).
    /// </summary>
    public Task<(ulong NewLabel, ulong MutationId)> SplitCoarseAsync(ulong label, IReadOnlyList<Run> blockRuns, ulong? splitLabel, CancellationToken ct = default)
        => MoveVoxelsAsync(label, splitLabel, "splitcoarse",
            index => index.Blocks.Keys.Where(b => Covers(blockRuns, b)).ToDictionary(b => b, _ => (List<(int Index, int Length)>?)null), ct);

    /// <summary>
    /// Moves the voxels of <paramref name="label"/> that <paramref name="select"/> picks (per block: runs of voxel
    /// indices, or null for the whole block) to <paramref name="splitLabel"/>. A given split label may already exist, as
    /// in DVID, and then absorbs those voxels.
    /// </summary>
    private Task<(ulong NewLabel, ulong MutationId)> MoveVoxelsAsync(ulong label, ulong? splitLabel, string action,
        Func<LabelIndex, Dictionary<Point3, List<(int Index, int Length)>?>> select, CancellationToken ct)
    {
        CheckLabel(label, "splits");
        if (HasMapping) throw DatastoreException.BadRequest($"{Type.Name} splits bodies with split (supervoxels get new ids), not by relabelling voxels");
        if (splitLabel is { } given && (given == 0 || given == label))
            throw DatastoreException.BadRequest($"cannot split label {label} into {given}: it is 0 or the label itself");
        return MutateAsync(async tx =>
        {
            var index = await IndexInAsync(tx, label, ct) ?? throw DatastoreException.BadRequest($"cannot split non-existent label {label}");
            var selected = select(index);
            ulong to = splitLabel ?? (await ReserveLabelsAsync(1, ct)).Start;
            long moved = 0;
            var changes = new BlockChanges();
            var changed = await Volume.ModifyBlocksAsync(tx, selected.Keys.ToList(), (b, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                long n = 0;
                foreach (var (at, length) in selected[b] ?? [(0, labels.Length)])
                    for (int i = at; i < at + length; i++)
                        if (labels[i] == label) { labels[i] = to; n++; }
                Interlocked.Add(ref moved, n);
                return n > 0;
            }, changes.Observe, ct);
            if (moved == 0) throw DatastoreException.BadRequest($"the split volume does not overlap label {label}");
            ulong id = await NewMutationAsync(ct);
            await ApplyBlockChangesAsync(tx, changes, indexing: true, null, ct);
            await DownresAsync(tx, changed, ct);
            await VoxelsChangedAsync(tx, changed, null, ct);
            await UpdateIndexAsync(tx, to, i => i.LastMutationId = id, ct);
            LogMutation(tx, id, action, new Dictionary<string, object> { ["Target"] = label, ["NewLabel"] = to });
            return (to, id);
        }, ct, needsMapping: false);
    }

    private static bool Covers(IReadOnlyList<Run> runs, Point3 block)
    {
        foreach (var r in runs)
            if (r.Y == block.Y && r.Z == block.Z && block.X >= r.X && block.X - (long)r.X < r.Length) return true;
        return false;
    }
}
