using System.Runtime.InteropServices;
using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Annotation;

/// <summary>
/// Following the synced labels (inside their transactions), and rebuilding the indices from the blocks (<c>reload</c>).
/// Invariant: each element's stored supervoxel is the label under it, and a body's record lists exactly the elements
/// whose supervoxel maps to that body.
/// </summary>
public sealed partial class Annotations
{
    public async Task VoxelsChangedAsync(Transaction tx, LabelVolume labels, IReadOnlyCollection<Point3> blocks, Func<ulong, ulong> bodyOf, CancellationToken ct)
    {
        var atx = tx.Join(_data, Stamp);
        var changes = new IndexChanges();
        var buffer = new byte[labels.Volume.BlockBytes];
        var bs = labels.BlockSize;
        foreach (var block in blocks)
        {
            if (await atx.GetAsync(BlockKey(block), ct) is not { } record) continue;
            var list = ElementRecords.DecodeBlock(record);
            bool hasVoxels = await labels.Volume.TryReadBlockAsync(tx, block, buffer, ct);
            var voxels = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
            var origin = block.BlockOrigin(bs);
            bool changed = false;
            for (int i = 0; i < list.Count; i++)
            {
                var (e, old) = list[i];
                ulong sv = hasVoxels ? voxels[((e.Pos.Z - origin.Z) * bs.Y + (e.Pos.Y - origin.Y)) * bs.X + (e.Pos.X - origin.X)] : 0;
                if (sv == old) continue;
                changes.RemoveFromLabel(bodyOf(old), new IndexEntry(e.Pos, e.Kind, old));
                changes.AddToLabel(bodyOf(sv), new IndexEntry(e.Pos, e.Kind, sv));
                list[i] = new StoredElement(e, sv);
                changed = true;
            }
            if (changed) atx.Put(BlockKey(block), ElementRecords.EncodeBlock(list));
        }
        await ApplyAsync(atx, changes, ct);
    }

    public async Task BodiesMergedAsync(Transaction tx, ulong target, IReadOnlyCollection<ulong> merged, CancellationToken ct)
    {
        var atx = tx.Join(_data, Stamp);
        var changes = new IndexChanges();
        foreach (var m in merged.Where(m => m != target).Distinct())
            if (await atx.GetAsync(LabelKey(m), ct) is { } record)
                foreach (var e in ElementRecords.DecodeIndex(record))
                {
                    changes.RemoveFromLabel(m, e);
                    changes.AddToLabel(target, e);
                }
        await ApplyAsync(atx, changes, ct);
    }

    public async Task SupervoxelsMovedAsync(Transaction tx, ulong from, ulong to, IReadOnlySet<ulong> supervoxels, CancellationToken ct)
    {
        var atx = tx.Join(_data, Stamp);
        var changes = new IndexChanges();
        if (from != to && await atx.GetAsync(LabelKey(from), ct) is { } record)
            foreach (var e in ElementRecords.DecodeIndex(record).Where(e => supervoxels.Contains(e.Supervoxel)))
            {
                changes.RemoveFromLabel(from, e);
                changes.AddToLabel(to, e);
            }
        await ApplyAsync(atx, changes, ct);
    }

    /// <summary>
    /// DVID's <c>reload</c>: relabels every element from the synced labels and rebuilds the label and tag indices and the
    /// synced labelsz counts, in one commit. Returns the number of elements.
    /// </summary>
    public async Task<long> ReloadAsync(CancellationToken ct = default)
    {
        using var turn = await TurnAsync(ct);
        return await _data.WriteAsync(tx => RebuildInAsync(tx, ct), ct, Stamp);
    }

    /// <summary>The rebuild of <see cref="ReloadAsync"/> inside <paramref name="tx"/> (the caller holds the turn).</summary>
    internal async Task<long> RebuildInAsync(Transaction tx, CancellationToken ct)
    {
        await foreach (var (tk, _) in _data.ScanAsync([LabelClass], [TagClass + 1], keysOnly: true, ct)) tx.Delete(tk);
        var labels = new Dictionary<ulong, List<IndexEntry>>();
        var tags = new Dictionary<string, List<IndexEntry>>(StringComparer.Ordinal);
        var bodyOf = await BodyOfAsync(ct);
        long count = 0;
        await foreach (var (tk, v) in _data.ScanAsync([BlockClass], [BlockClass + 1], false, ct))
        {
            var list = ElementRecords.DecodeBlock(v);
            await RelabelAsync(tx, tk, list, ct);
            foreach (var (e, sv) in list)
            {
                var entry = new IndexEntry(e.Pos, e.Kind, sv);
                if (bodyOf(sv) is var body and not 0) Add(labels, body, entry);
                foreach (var t in e.Tags) Add(tags, t, entry with { Supervoxel = 0, Kind = ElementKind.Unknown });
                count++;
            }
        }
        foreach (var (label, entries) in labels) tx.Put(LabelKey(label), ElementRecords.EncodeIndex(Sorted(entries)));
        foreach (var (tag, entries) in tags) tx.Put(TagKey(tag), ElementRecords.EncodeIndex(Sorted(entries)));
        foreach (var sizes in Sizes)
            await sizes.RebuildAsync(tx.Join(sizes.Data, sizes.Stamp), Listed(labels), ct);
        return count;

        static void Add<TKey>(Dictionary<TKey, List<IndexEntry>> map, TKey key, IndexEntry e) where TKey : notnull
        {
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            list.Add(e);
        }
        static List<IndexEntry> Sorted(List<IndexEntry> entries)
        {
            entries.Sort((a, b) => ElementPos.CompareZyx(a.Pos, b.Pos));
            return entries;
        }
        static async IAsyncEnumerable<(ulong, List<IndexEntry>)> Listed(Dictionary<ulong, List<IndexEntry>> labels)
        {
            foreach (var (l, e) in labels) yield return (l, e);
            await Task.CompletedTask;
        }
    }

    /// <summary>Sets each element of block record <paramref name="blockKey"/> (<paramref name="list"/>, changed in place) to
    /// the supervoxel under it now (0 without synced labels), rewriting the record in <paramref name="tx"/> if any changed.</summary>
    private async Task RelabelAsync(Transaction tx, byte[] blockKey, List<StoredElement> list, CancellationToken ct)
    {
        var (svs, _) = await LabelsUnderAsync(list.Select(s => s.Element.Pos).ToList(), ct);
        bool changed = false;
        for (int i = 0; i < list.Count; i++)
            if (list[i].Supervoxel != svs[i]) { list[i] = list[i] with { Supervoxel = svs[i] }; changed = true; }
        if (changed) tx.Put(blockKey, ElementRecords.EncodeBlock(list));
    }

    /// <summary>The label records stored here, for a labelsz rebuild.</summary>
    public async IAsyncEnumerable<(ulong Label, List<IndexEntry> Entries)> LabelRecordsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var (tk, v) in _data.ScanAsync([LabelClass], [LabelClass + 1], false, ct))
            yield return (System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(1)), ElementRecords.DecodeIndex(v));
    }
}
