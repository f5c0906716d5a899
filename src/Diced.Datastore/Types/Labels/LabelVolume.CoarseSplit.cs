using System.Runtime.InteropServices;
using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>labelarray's coarse split: whole blocks of a label relabelled, in one transaction like every mutation.</summary>
public sealed partial class LabelVolume
{
    /// <summary>
    /// DVID's <c>split-coarse</c>: every voxel of <paramref name="label"/> inside the blocks of <paramref name="blockRuns"/> (runs along x in block coordinates) becomes
    /// <paramref name="splitLabel"/> (a new label when not given; a given label may already exist, as in DVID, and then
    /// absorbs those voxels). Labels without a mapping only (labelarray); labelmap splits with <c>split</c>.
    /// </summary>
    public Task<(ulong NewLabel, ulong MutationId)> SplitCoarseAsync(ulong label, IReadOnlyList<Run> blockRuns, ulong? splitLabel, CancellationToken ct = default)
    {
        CheckLabel(label, "splits");
        if (HasMapping) throw DatastoreException.BadRequest($"{Type.Name} does not split by blocks; use split with a sparse volume");
        if (splitLabel is { } given && (given == 0 || given == label))
            throw DatastoreException.BadRequest($"cannot split label {label} into {given}: it is 0 or the label itself");
        return MutateAsync(async tx =>
        {
            var index = await IndexInAsync(tx, label, ct) ?? throw DatastoreException.BadRequest($"cannot split non-existent label {label}");
            var hit = index.Blocks.Keys.Where(b => Covers(blockRuns, b)).ToList();
            if (hit.Count == 0) throw DatastoreException.BadRequest($"the coarse split volume does not overlap label {label}");
            ulong to = splitLabel ?? (await ReserveLabelsAsync(1, ct)).Start;
            ulong id = await NewMutationAsync(ct);
            var changes = new BlockChanges();
            var changed = await Volume.ModifyBlocksAsync(tx, hit, (_, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                bool any = false;
                for (int i = 0; i < labels.Length; i++)
                    if (labels[i] == label) { labels[i] = to; any = true; }
                return any;
            }, changes.Observe, ct);
            await ApplyBlockChangesAsync(tx, changes, indexing: true, null, ct);
            await DownresAsync(tx, changed, ct);
            await UpdateIndexAsync(tx, to, i => i.LastMutationId = id, ct);
            LogMutation(tx, id, "splitcoarse", new Dictionary<string, object> { ["Target"] = label, ["NewLabel"] = to });
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
