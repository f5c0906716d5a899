using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>Label indices (per body, voxel counts per block and supervoxel), the max label and label allocation.</summary>
public sealed partial class LabelVolume
{
    private const string RepoMaxRecord = "repomax";
    private string LabelCounter => "label/" + _data.Instance.DataUuid;

    // ---------------------------------------------------------------- reading indices

    /// <summary>The stored index of a body (labelmap) or label; null when it has no voxels here.</summary>
    public async Task<LabelIndex?> GetIndexAsync(ulong label, CancellationToken ct = default)
        => await _data.GetAsync(Key(IndexClass, label), ct) is { } v ? LabelIndex.Deserialize(v) : null;

    /// <summary>The body a supervoxel belongs to and that body's index, when the supervoxel exists here.</summary>
    public Task<(ulong Body, LabelIndex Index)?> FindSupervoxelAsync(ulong sv, CancellationToken ct = default)
    {
        RequireIndex();
        return ReadConsistentAsync(() => FindSupervoxelNowAsync(sv, ct), ct);
    }

    /// <summary><see cref="FindSupervoxelAsync"/> without the consistency loop (callers hold the change turn or loop themselves).</summary>
    private async Task<(ulong Body, LabelIndex Index)?> FindSupervoxelNowAsync(ulong sv, CancellationToken ct)
    {
        var body = BodyOf(await MappingAsync(ct), sv);
        var idx = await GetIndexAsync(body, ct);
        if (idx is null || !idx.Blocks.Values.Any(c => c.ContainsKey(sv))) return null;
        return (body, idx);
    }

    /// <summary>The index of <paramref name="label"/> (a body, or with <paramref name="supervoxels"/> one supervoxel's share of its body's).</summary>
    public Task<LabelIndex?> IndexOfAsync(ulong label, bool supervoxels, CancellationToken ct = default)
    {
        RequireIndex();
        if (!supervoxels || !HasMapping) return GetIndexAsync(label, ct);
        return ReadConsistentAsync(() => SupervoxelIndexNowAsync(label, ct), ct);
    }

    private async Task<LabelIndex?> SupervoxelIndexNowAsync(ulong sv, CancellationToken ct)
    {
        if (await FindSupervoxelNowAsync(sv, ct) is not { } found) return null;
        var only = new LabelIndex(sv);
        foreach (var (block, counts) in found.Index.Blocks)
            if (counts.TryGetValue(sv, out var n)) only.Add(block, sv, n);
        return only;
    }

    // ---------------------------------------------------------------- keeping indices in a transaction

    /// <summary>Changes one label's index in the transaction (deleted when it becomes empty).</summary>
    private async Task UpdateIndexAsync(Transaction tx, ulong label, Action<LabelIndex> change, CancellationToken ct)
    {
        var current = await tx.GetAsync(Key(IndexClass, label), ct);
        var idx = current is null ? new LabelIndex(label) : LabelIndex.Deserialize(current);
        change(idx);
        if (idx.IsEmpty)
        {
            if (current is not null) tx.Delete(Key(IndexClass, label));
            return;
        }
        idx.Label = label;
        idx.LastModTime = DateTimeOffset.UtcNow;
        idx.LastModUser = Context.User;
        idx.LastModApp = Context.App;
        tx.Put(Key(IndexClass, label), idx.Serialize());
    }

    /// <summary>The index a transaction sees for <paramref name="label"/>.</summary>
    private static async Task<LabelIndex?> IndexInAsync(Transaction tx, ulong label, CancellationToken ct)
        => await tx.GetAsync(Key(IndexClass, label), ct) is { } v ? LabelIndex.Deserialize(v) : null;

    /// <summary>
    /// Folds block changes into the max label and, when <paramref name="indexing"/>, the label indices: each
    /// supervoxel's count change goes to its body's index (<paramref name="assigned"/>: assignments made earlier in
    /// this transaction, which the stored mapping does not have yet).
    /// </summary>
    private async Task ApplyBlockChangesAsync(Transaction tx, BlockChanges changes, bool indexing, IReadOnlyDictionary<ulong, ulong>? assigned, CancellationToken ct)
    {
        if (changes.MaxLabel > 0) await RaiseMaxLabelAsync(tx, changes.MaxLabel, ct);
        if (!Indexed || !indexing) return;
        var mapping = await MappingAsync(ct);
        ulong BodyOfSv(ulong sv) => assigned is not null && assigned.TryGetValue(sv, out var b) ? b : BodyOf(mapping, sv);
        foreach (var group in changes.Deltas().GroupBy(d => BodyOfSv(d.Label)))
            await UpdateIndexAsync(tx, group.Key, idx =>
            {
                foreach (var (block, sv, delta) in group) idx.Add(block, sv, delta);
            }, ct);
    }

    /// <summary>Voxel count changes per block and label caused by block writes (collected concurrently, block by block).</summary>
    private sealed class BlockChanges
    {
        private readonly ConcurrentDictionary<Point3, Dictionary<ulong, long>> _byBlock = new();
        private long _max;

        public ulong MaxLabel => (ulong)Interlocked.Read(ref _max);

        /// <summary>A <see cref="ImageBlock.BlockChanged"/> observer.</summary>
        public void Observe(Point3 block, ReadOnlySpan<byte> before, bool existed, ReadOnlySpan<byte> after)
        {
            var delta = new Dictionary<ulong, long>();
            ulong max = Count(MemoryMarshal.Cast<byte, ulong>(after), delta, +1);
            if (existed) Count(MemoryMarshal.Cast<byte, ulong>(before), delta, -1);
            foreach (var k in delta.Where(kv => kv.Value == 0).Select(kv => kv.Key).ToList()) delta.Remove(k);
            if (delta.Count > 0)
                _byBlock.AddOrUpdate(block, delta, (_, earlier) =>
                {
                    lock (earlier) foreach (var (l, d) in delta) earlier[l] = earlier.GetValueOrDefault(l) + d;
                    return earlier;
                });
            long seen;
            while ((ulong)(seen = Interlocked.Read(ref _max)) < max && Interlocked.CompareExchange(ref _max, (long)max, seen) != seen) { }
        }

        public IEnumerable<(Point3 Block, ulong Label, long Delta)> Deltas()
            => _byBlock.SelectMany(b => b.Value.Where(kv => kv.Value != 0).Select(kv => (b.Key, kv.Key, kv.Value)));

        /// <summary>Adds <paramref name="sign"/> per voxel to each non-zero label's count; returns the largest label.</summary>
        private static ulong Count(ReadOnlySpan<ulong> voxels, Dictionary<ulong, long> counts, int sign)
        {
            ulong max = 0;
            int i = 0;
            while (i < voxels.Length)
            {
                ulong label = voxels[i];
                int j = i + 1;
                while (j < voxels.Length && voxels[j] == label) j++;
                if (label != 0)
                {
                    ref long c = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, label, out _);
                    c += sign * (long)(j - i);
                    if (label > max) max = label;
                }
                i = j;
            }
            return max;
        }
    }

    // ---------------------------------------------------------------- max label and allocation

    /// <summary>Raises this version's max label in the transaction, and the repo's label counter at once (so ids handed
    /// out later stay above every label written; a change that then fails to commit leaves at most a gap in ids).</summary>
    private async Task RaiseMaxLabelAsync(Transaction tx, ulong label, CancellationToken ct)
    {
        // The max label only grows: a write below it changes nothing and reads it without making it a condition.
        var seen = await tx.PeekAsync([MaxLabelClass], ct);
        var current = seen is not null && BinaryPrimitives.ReadUInt64LittleEndian(seen) >= label ? seen : await tx.GetAsync([MaxLabelClass], ct);
        ulong stored = current is null ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(current);
        if (current is null || stored < label)
        {
            var v = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(v, label);
            tx.Put([MaxLabelClass], v);
        }
        if (!_data.Store.IsShared && _coord.TryGetRecord<StrongBox<ulong>>(Id, 0, RepoMaxRecord, out var known) && known!.Value >= label) return;
        await _counters.RaiseCounterAsync(LabelCounter, label, ct);
        _coord.SetRecord(Id, 0, RepoMaxRecord, new StrongBox<ulong>(label));
    }

    /// <summary>The largest label written at this version or an ancestor; null before any write.</summary>
    public async Task<ulong?> MaxLabelAsync(CancellationToken ct = default)
        => await _data.GetAsync([MaxLabelClass], ct) is { } v ? BinaryPrimitives.ReadUInt64LittleEndian(v) : null;

    /// <summary>The id the next allocation would return (repo-wide).</summary>
    public Task<ulong> NextLabelAsync(CancellationToken ct = default) => _counters.PeekCounterAsync(LabelCounter, ct);

    private string CeilingCounter => "labelceiling/" + _data.Instance.DataUuid;

    /// <summary>Reserves <paramref name="count"/> new label ids, never handed out again in this repo (refused past a ceiling
    /// set by <see cref="SetNextLabelAsync"/>).</summary>
    public async Task<(ulong Start, ulong End)> ReserveLabelsAsync(ulong count, CancellationToken ct = default)
    {
        if (count == 0) throw DatastoreException.BadRequest("the number of labels to reserve must be at least 1");
        if (await _counters.ReadAsync(CeilingCounter, ct) is { } ceiling and > 0
            && (await NextLabelAsync(ct)) + count - 1 > ceiling)
            throw DatastoreException.BadRequest($"reserving {count} labels would pass the allocation ceiling {ceiling} of data \"{_data.Instance.Name}\"");
        var start = await _counters.ReserveAsync(LabelCounter, count, 1, ct);
        return (start, start + count - 1);
    }

    /// <summary>
    /// <c>POST nextlabel</c>: reserves labels and raises this version's max label to the end of the range, so the max
    /// label covers every id handed out here.
    /// </summary>
    public async Task<(ulong Start, ulong End)> AllocateLabelsAsync(ulong count, CancellationToken ct = default)
    {
        var range = await ReserveLabelsAsync(count, ct);
        await SetMaxLabelAsync(range.End, ct);
        return range;
    }

    /// <summary>Raises this version's max label to <paramref name="label"/> (no change when it is already higher).</summary>
    public Task SetMaxLabelAsync(ulong label, CancellationToken ct = default)
    {
        CheckLabel(label, "the max label");
        return ChangeAsync(async tx => { await RaiseMaxLabelAsync(tx, label, ct); return 0; }, ct);
    }

    /// <summary>
    /// DVID's <c>set-nextlabel</c>: the next label handed out repo-wide is <paramref name="label"/> + 1. A
    /// <paramref name="ceiling"/> above it bounds later allocations (0 clears it; null leaves it as it is).
    /// </summary>
    public async Task SetNextLabelAsync(ulong label, ulong? ceiling, CancellationToken ct = default)
    {
        CheckLabel(label, "the next label");
        if (label == ulong.MaxValue) throw DatastoreException.BadRequest($"label {label} leaves no next label");
        if (ceiling is { } c && c != 0 && c < label + 1)
            throw DatastoreException.BadRequest($"the ceiling {c} cannot be below the next label {label + 1}");
        await _counters.SetAsync(LabelCounter, label + 1, ct);
        if (ceiling is { } set) await _counters.SetAsync(CeilingCounter, set, ct);
    }
}
