using System.Buffers.Binary;
using System.Text;
using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Types.Labelsz;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Annotation;

/// <summary>
/// An annotation instance at one version. Elements live in block records (all details, and the supervoxel under each
/// element); a label record per body and a tag record per tag list where their elements are. When synced to labels,
/// every change here takes the labels' change turn, so element labels are read from a settled volume, and label
/// changes update the label records in their own transaction (<see cref="ILabelFollower"/>). Synced labelsz
/// instances count in the same commits. Partial files: writes, reads, following labels and reloading.
/// </summary>
public sealed partial class Annotations : ILabelFollower
{
    public const byte BlockClass = 0x60, LabelClass = 0x61, TagClass = 0x62, LogClass = 0xF1;
    private const string TurnName = "annotationchange";

    private readonly VersionedData _data;
    private readonly VolumeCoordination _coord;
    private readonly Func<LabelVolume?> _labelSource;
    private readonly Func<IReadOnlyList<LabelSizes>> _sizeSource;
    private LabelVolume? _labels;
    private bool _labelsResolved;
    private IReadOnlyList<LabelSizes>? _sizes;

    internal Annotations(VersionedData data, VolumeCoordination coord, Func<LabelVolume?> labels, Func<IReadOnlyList<LabelSizes>> sizes, MutationContext? context)
    {
        _data = data;
        _coord = coord;
        _labelSource = labels;
        _sizeSource = sizes;
        Context = context ?? MutationContext.Anonymous;
        BlockSize = ImageSettings.ParseBlockSize(data.Instance.Settings[ImageSettings.BlockSizeKey]);
        Stamp = coord.Stamp(data.Instance.InstanceId, data.WriteVersion);
    }

    public VersionedData Data => _data;
    public MutationContext Context { get; }
    public Point3 BlockSize { get; }

    /// <summary>Advanced around every commit that changes this instance (its own, and label changes it follows).</summary>
    public VersionStamp Stamp { get; }

    /// <summary>The label volume this instance follows, or null when it is not synced to labels.</summary>
    public LabelVolume? Labels
    {
        get
        {
            if (!_labelsResolved) { _labels = _labelSource(); _labelsResolved = true; }
            return _labels;
        }
    }

    private IReadOnlyList<LabelSizes> Sizes => _sizes ??= _sizeSource();

    // ---------------------------------------------------------------- keys

    internal static byte[] BlockKey(Point3 block)
    {
        var k = new byte[13];
        k[0] = BlockClass;
        block.WriteZyxIndex(k.AsSpan(1));
        return k;
    }

    internal static byte[] LabelKey(ulong label)
    {
        var k = new byte[9];
        k[0] = LabelClass;
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(1), label);
        return k;
    }

    internal static byte[] TagKey(string tag) => [TagClass, .. Encoding.UTF8.GetBytes(tag)];

    public Point3 BlockOf(ElementPos p) => new Point3(p.X, p.Y, p.Z).BlockOf(BlockSize);

    // ---------------------------------------------------------------- changes

    /// <summary>
    /// The change turn: the synced labels' (so no label change commits while elements are labelled) or this instance's
    /// own. labelsz reloads take it too.
    /// </summary>
    public async Task<IDisposable> TurnAsync(CancellationToken ct)
        => Labels is { } l ? await l.LockChangeTurnAsync(ct) : await _coord.LockRecordAsync(_data.Instance.InstanceId, _data.WriteVersion, TurnName, ct);

    /// <summary>Runs a change under the turn in one transaction, with the index and count changes it gathers.</summary>
    private async Task<T> ChangeAsync<T>(Func<Transaction, IndexChanges, Task<T>> body, CancellationToken ct)
    {
        using var turn = await TurnAsync(ct);
        return await _data.WriteAsync(async tx =>
        {
            var changes = new IndexChanges();
            var result = await body(tx, changes);
            await ApplyAsync(tx, changes, ct);
            return result;
        }, ct, Stamp);
    }

    /// <summary>Writes gathered label and tag index changes, and the counts of synced labelsz instances, in <paramref name="tx"/>.</summary>
    private async Task ApplyAsync(Transaction tx, IndexChanges changes, CancellationToken ct)
    {
        foreach (var (label, (add, remove)) in changes.Labels)
            await RewriteIndexAsync(tx, LabelKey(label), add, remove, ct);
        foreach (var (tag, (add, remove)) in changes.Tags)
            await RewriteIndexAsync(tx, TagKey(tag), add, remove, ct);
        if (changes.Deltas.Count > 0)
            foreach (var sizes in Sizes) await sizes.ApplyAsync(tx.Join(sizes.Data, sizes.Stamp), changes.Deltas, ct);
    }

    private static async Task RewriteIndexAsync(Transaction tx, byte[] key, Dictionary<ElementPos, IndexEntry> add, HashSet<ElementPos> remove, CancellationToken ct)
    {
        var current = await tx.GetAsync(key, ct);
        var entries = current is null ? new Dictionary<ElementPos, IndexEntry>() : ElementRecords.DecodeIndex(current).ToDictionary(e => e.Pos);
        foreach (var p in remove) entries.Remove(p);
        foreach (var (p, e) in add) entries[p] = e;
        if (entries.Count == 0)
        {
            if (current is not null) tx.Delete(key);
            return;
        }
        var sorted = entries.Values.ToList();
        sorted.Sort((a, b) => ElementPos.CompareZyx(a.Pos, b.Pos));
        tx.Put(key, ElementRecords.EncodeIndex(sorted));
    }

    /// <summary>Supervoxels under <paramref name="points"/> (0 where there are none, or no synced labels) and the mapping to bodies.</summary>
    private async Task<(ulong[] Supervoxels, Func<ulong, ulong> BodyOf)> LabelsUnderAsync(IReadOnlyList<ElementPos> points, CancellationToken ct)
    {
        if (Labels is not { } labels || points.Count == 0) return (new ulong[points.Count], static sv => sv);
        var svs = await labels.LabelsAtAsync(points.Select(p => new Point3(p.X, p.Y, p.Z)).ToList(), supervoxels: true, ct);
        return (svs, await BodyOfAsync(ct));
    }

    /// <summary>The current supervoxel → body mapping of the synced labels (identity without a mapping).</summary>
    private async Task<Func<ulong, ulong>> BodyOfAsync(CancellationToken ct)
    {
        if (Labels is not { HasMapping: true } labels) return static sv => sv;
        var mapping = await labels.MappingAsync(ct);
        return sv => sv == 0 ? 0 : LabelVolume.BodyOf(mapping, sv);
    }

    /// <summary>Records a change in the instance's log, in its transaction (<c>Action</c>, <c>UUID</c>, <c>User</c>, <c>Timestamp</c> and the fields).</summary>
    private void Log(Transaction tx, string action, IReadOnlyDictionary<string, object> fields)
    {
        var record = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["Action"] = action, ["Timestamp"] = TimeFormat.GoTime(DateTimeOffset.UtcNow), ["UUID"] = _data.Node.Uuid,
        };
        if (Context.User.Length > 0) record["User"] = Context.User;
        if (Context.App.Length > 0) record["App"] = Context.App;
        foreach (var (k, v) in fields) record[k] = v;
        tx.Put(MutationLog.TimeOrderedKey(LogClass), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record));
    }

    /// <summary>The log records visible here (this version and its ancestors), oldest first.</summary>
    public Task<List<System.Text.Json.JsonElement>> MutationsAsync(CancellationToken ct = default) => MutationLog.ReadAsync(_data, LogClass, ct);
}
