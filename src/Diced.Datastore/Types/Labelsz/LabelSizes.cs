using System.Buffers.Binary;
using Diced.Codecs.Annotations;
using Diced.Datastore.Types.Roi;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labelsz;

/// <summary>A labelsz index: the counts of one element kind, or all synaptic kinds.</summary>
public enum SizeIndex : byte { PostSyn, PreSyn, Gap, Note, AllSyn, Voxels }

/// <summary>A body and its count in one index.</summary>
public readonly record struct LabelSize(ulong Label, ulong Size);

/// <summary>A change of one element's membership: +1 when it joins <c>Label</c>, −1 when it leaves.</summary>
public readonly record struct ElementDelta(ulong Label, ElementKind Kind, ElementPos Pos, int Delta);

/// <summary>
/// A labelsz instance at one version: per index and body a count, and a rank key (index, inverted count, body) so that
/// the largest bodies are the first keys of a scan. Changes come from the synced annotation inside its transactions.
/// </summary>
public sealed class LabelSizes
{
    public const byte CountClass = 0x70, RankClass = 0x71;

    private readonly VersionedData _data;
    private readonly Func<CancellationToken, Task<RoiIndex?>> _roi;

    internal LabelSizes(VersionedData data, VolumeCoordination coord, Func<CancellationToken, Task<RoiIndex?>> roi)
    {
        _data = data;
        _roi = roi;
        Stamp = coord.Stamp(data.Instance.InstanceId, data.WriteVersion);
    }

    public VersionedData Data => _data;

    private Task<RoiIndex?>? _roiIndex;

    /// <summary>The ROI counted within (null: everywhere), read once per instance of this class (one request's).</summary>
    private Task<RoiIndex?> RoiAsync(CancellationToken ct) => _roiIndex ??= _roi(ct);

    /// <summary>Advanced around every commit that changes these counts (readers of several keys check it).</summary>
    public VersionStamp Stamp { get; }

    public static SizeIndex ParseIndex(string name) => name switch
    {
        "PostSyn" => SizeIndex.PostSyn, "PreSyn" => SizeIndex.PreSyn, "Gap" => SizeIndex.Gap, "Note" => SizeIndex.Note,
        "AllSyn" => SizeIndex.AllSyn, "Voxels" => SizeIndex.Voxels,
        _ => throw DatastoreException.BadRequest($"unknown index type specified (\"{name}\")"),
    };

    private static SizeIndex? IndexOf(ElementKind k) => k switch
    {
        ElementKind.PostSyn => SizeIndex.PostSyn, ElementKind.PreSyn => SizeIndex.PreSyn, ElementKind.Gap => SizeIndex.Gap,
        ElementKind.Note => SizeIndex.Note, _ => null,
    };

    private static byte[] CountKey(SizeIndex i, ulong label)
    {
        var k = new byte[10];
        k[0] = CountClass;
        k[1] = (byte)i;
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(2), label);
        return k;
    }

    private static byte[] RankKey(SizeIndex i, ulong size, ulong label)
    {
        var k = new byte[18];
        k[0] = RankClass;
        k[1] = (byte)i;
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(2), ulong.MaxValue - size);
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(10), label);
        return k;
    }

    // ---------------------------------------------------------------- changes (in the annotation's transaction)

    /// <summary>Applies element deltas in <paramref name="tx"/> (this instance's part of the transaction).</summary>
    public async Task ApplyAsync(Transaction tx, IEnumerable<ElementDelta> deltas, CancellationToken ct)
    {
        var roi = await RoiAsync(ct);
        var sums = new Dictionary<(SizeIndex, ulong), long>();
        foreach (var d in deltas)
        {
            if (d.Label == 0 || IndexOf(d.Kind) is not { } index) continue;
            if (roi is not null && !roi.ContainsVoxel(new Geometry.Point3(d.Pos.X, d.Pos.Y, d.Pos.Z))) continue;
            sums[(index, d.Label)] = sums.GetValueOrDefault((index, d.Label)) + d.Delta;
            if (Element.IsSynaptic(d.Kind)) sums[(SizeIndex.AllSyn, d.Label)] = sums.GetValueOrDefault((SizeIndex.AllSyn, d.Label)) + d.Delta;
        }
        foreach (var ((index, label), delta) in sums)
        {
            if (delta == 0) continue;
            ulong old = await CountInAsync(tx, index, label, ct);
            ulong now = (ulong)Math.Max(0, (long)old + delta);
            SetCount(tx, index, label, old, now);
        }
    }

    private static async Task<ulong> CountInAsync(Transaction tx, SizeIndex index, ulong label, CancellationToken ct)
        => await tx.GetAsync(CountKey(index, label), ct) is { Length: 8 } v ? BinaryPrimitives.ReadUInt64LittleEndian(v) : 0;

    private static void SetCount(Transaction tx, SizeIndex index, ulong label, ulong old, ulong now)
    {
        if (old == now) return;
        if (old > 0) tx.Delete(RankKey(index, old, label));
        if (now == 0)
        {
            tx.Delete(CountKey(index, label));
            return;
        }
        var v = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(v, now);
        tx.Put(CountKey(index, label), v);
        tx.Put(RankKey(index, now, label), []);
    }

    /// <summary>
    /// Sets <paramref name="label"/>'s counts from its annotation label record <paramref name="entries"/>, in
    /// <paramref name="tx"/>, removing the rank keys of the counts any of <paramref name="parents"/> (the same instance at
    /// other versions) held: after a resolve took count and rank keys from different parents, more than one can be visible.
    /// </summary>
    public async Task RecountAsync(Transaction tx, ulong label, IReadOnlyList<IndexEntry> entries, IReadOnlyList<LabelSizes> parents, CancellationToken ct)
    {
        var counts = await CountEntriesAsync(entries, ct);
        for (int i = 0; i < counts.Length; i++)
        {
            var index = (SizeIndex)i;
            ulong now = await CountInAsync(tx, index, label, ct);
            foreach (var p in parents)
                if (await p.CountAsync(label, index, ct) is var held and > 0 && held != now) tx.Delete(RankKey(index, held, label));
            SetCount(tx, index, label, now, counts[i]);
            if (now == counts[i] && now > 0) tx.Put(RankKey(index, now, label), []);
        }
    }

    /// <summary>Counts of <paramref name="entries"/> per index (elements outside the ROI, when there is one, not counted).</summary>
    private async Task<ulong[]> CountEntriesAsync(IReadOnlyList<IndexEntry> entries, CancellationToken ct)
    {
        var roi = await RoiAsync(ct);
        var counts = new ulong[(int)SizeIndex.Voxels];
        foreach (var e in entries)
        {
            if (IndexOf(e.Kind) is not { } index) continue;
            if (roi is not null && !roi.ContainsVoxel(new Geometry.Point3(e.Pos.X, e.Pos.Y, e.Pos.Z))) continue;
            counts[(int)index]++;
            if (Element.IsSynaptic(e.Kind)) counts[(int)SizeIndex.AllSyn]++;
        }
        return counts;
    }

    /// <summary>Replaces every count with those of <paramref name="labels"/> (an annotation's label index), in <paramref name="tx"/>.</summary>
    public async Task RebuildAsync(Transaction tx, IAsyncEnumerable<(ulong Label, List<IndexEntry> Entries)> labels, CancellationToken ct)
    {
        await foreach (var (tk, _) in _data.ScanAsync([CountClass], [RankClass + 1], keysOnly: true, ct)) tx.Delete(tk);
        await foreach (var (label, entries) in labels)
        {
            var counts = await CountEntriesAsync(entries, ct);
            for (int i = 0; i < counts.Length; i++) SetCount(tx, (SizeIndex)i, label, 0, counts[i]);
        }
    }

    // ---------------------------------------------------------------- queries

    public async Task<ulong> CountAsync(ulong label, SizeIndex index, CancellationToken ct = default)
        => await _data.GetAsync(CountKey(index, label), ct) is { Length: 8 } v ? BinaryPrimitives.ReadUInt64LittleEndian(v) : 0;

    /// <summary>Counts of <paramref name="labels"/> in their order, read as one state.</summary>
    public Task<List<LabelSize>> CountsAsync(IReadOnlyList<ulong> labels, SizeIndex index, CancellationToken ct = default)
        => Stamp.ReadAsync(async () =>
        {
            var list = new List<LabelSize>(labels.Count);
            foreach (var l in labels) list.Add(new LabelSize(l, await CountAsync(l, index, ct)));
            return list;
        }, ct);

    /// <summary>The ranked bodies (largest first, ties by smaller body) from rank <paramref name="offset"/>, at most
    /// <paramref name="n"/>, stopping below <paramref name="threshold"/>.</summary>
    public Task<List<LabelSize>> RankedAsync(SizeIndex index, ulong threshold, long offset, long n, CancellationToken ct = default)
        => Stamp.ReadAsync(async () =>
        {
            var list = new List<LabelSize>();
            if (n <= 0) return list;
            long rank = 0;
            await foreach (var (tk, _) in _data.ScanAsync([RankClass, (byte)index], [RankClass, (byte)(index + 1)], keysOnly: true, ct))
            {
                ulong size = ulong.MaxValue - BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(2));
                if (size < threshold) break;
                if (rank++ < offset) continue;
                list.Add(new LabelSize(BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(10)), size));
                if (list.Count >= n) break;
            }
            return list;
        }, ct);
}
