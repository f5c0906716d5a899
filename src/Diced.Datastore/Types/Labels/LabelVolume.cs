using System.Buffers.Binary;
using System.Globalization;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>Who makes a change, recorded with mutations and label indices (DVID's <c>u=</c> and <c>app=</c>).</summary>
public sealed record MutationContext(string User, string App)
{
    public static readonly MutationContext Anonymous = new("", "");
}

/// <summary>
/// A label instance at one version: uint64 voxels in blocks (labelblk: LZ4 arrays; labelmap/labelarray: DVID label
/// blocks), and for labelmap the supervoxel → body mapping, per-body label indices kept current as blocks are
/// written, the max label, label allocation and mutations (merge, cleave, splits, renumber) with a durable log.
/// </summary>
/// <remarks>
/// Every change (a voxel or block write, a mutation) is one transaction: voxels, pyramid levels, label indices,
/// mapping, max label and the mutation-log entry are committed in one atomic batch, or none of them. Changes to one
/// instance at one version run one at a time (each uses every core); readers never wait for them, and those that
/// read several records re-read when a change committed meanwhile (<see cref="VersionStamp"/>), so they see a
/// mutation whole or not at all. Partial files: mapping, indexing, reads, writes (with the pyramid), mutations.
/// </remarks>
public sealed partial class LabelVolume
{
    public const byte IndexClass = 0x50, MappingClass = 0x51, MaxLabelClass = 0x52, MutationClass = 0x53;
    private const string ChangeLockName = "labelchange";

    private readonly Func<IReadOnlyList<ILabelFollower>>? _followerSource;
    private IReadOnlyList<ILabelFollower>? _followers;

    /// <summary>Data that follows these labels in the same transactions (synced annotations).</summary>
    private IReadOnlyList<ILabelFollower> Followers => _followers ??= _followerSource?.Invoke() ?? [];

    /// <summary>
    /// Takes this instance's change turn at this version (released on dispose): while it is held no label change commits
    /// here. Followers take it before changing what they keep from the labels, so they never read labels mid-change.
    /// </summary>
    public Task<IDisposable> LockChangeTurnAsync(CancellationToken ct = default) => _coord.LockRecordAsync(Id, Version, ChangeLockName, ct);

    /// <summary>Tells followers that level-0 voxels of <paramref name="blocks"/> changed in <paramref name="tx"/>;
    /// <paramref name="assigned"/>: supervoxels mapped in this transaction.</summary>
    private async Task VoxelsChangedAsync(Transaction tx, IReadOnlyCollection<Point3> blocks, IReadOnlyDictionary<ulong, ulong>? assigned, CancellationToken ct)
    {
        if (Followers.Count == 0 || blocks.Count == 0) return;
        var mapping = HasMapping && Followers.Any(f => f.UsesBodies) ? await MappingAsync(ct) : Empty;
        ulong BodyOfSv(ulong sv) => sv == 0 ? 0 : assigned is not null && assigned.TryGetValue(sv, out var b) ? b : BodyOf(mapping, sv);
        foreach (var f in Followers) await f.VoxelsChangedAsync(tx, this, blocks, BodyOfSv, ct);
    }

    private readonly IdCounters _counters;
    private readonly VersionedData _data;
    private readonly VolumeCoordination _coord;
    private readonly IBlockCodec? _codec;
    private readonly ImageSettings _settings;
    private readonly ImageVolume?[] _scales;

    /// <summary>A label instance at one version (made by <see cref="Datastore.LabelVolumeOf"/>).</summary>
    internal LabelVolume(VersionedData data, LabelType type, VolumeCoordination coord, IdCounters counters, MutationContext? context,
        Func<IReadOnlyList<ILabelFollower>>? followers = null)
    {
        _followerSource = followers;
        _counters = counters;
        _data = data;
        _coord = coord;
        Context = context ?? MutationContext.Anonymous;
        Type = type;
        _settings = ImageSettings.From(data.Instance);
        Indexed = data.Instance.Settings.GetValueOrDefault(LabelType.IndexedKey) == "true";
        _codec = Type.Kind == LabelKind.Labelblk ? null
            : new LabelBlockCodec(CompressionSpec.Parse(data.Instance.Compression), _settings.BlockSize, data.Instance.Checksum);
        MaxDownres = int.Parse(data.Instance.Settings.GetValueOrDefault(LabelType.MaxDownresKey, "0"), CultureInfo.InvariantCulture);
        Volume = new ImageVolume(data, _coord, VoxelType.Uint64, _codec, settings: _settings);
        _scales = new ImageVolume?[MaxDownres + 1];
        _scales[0] = Volume;
        Stamp = _coord.Stamp(Id, Version);
    }

    public LabelType Type { get; }

    /// <summary>Level 0 of the volume.</summary>
    public ImageVolume Volume { get; }
    public VersionedData Data => _data;
    /// <summary>Who makes the changes made through this instance.</summary>
    public MutationContext Context { get; }
    public bool Indexed { get; }
    public bool HasMapping => Type.Kind == LabelKind.Labelmap;
    public Point3 BlockSize => Volume.BlockSize;

    /// <summary>Coarsest pyramid level kept (<c>MaxDownresLevel</c>); level s halves every axis s times.</summary>
    public int MaxDownres { get; }

    /// <summary>Counts this instance's committed changes at this version (readers of several records check it).</summary>
    public VersionStamp Stamp { get; }

    private uint Id => _data.Instance.InstanceId;
    private uint Version => _data.WriteVersion;

    /// <summary>Block key class of pyramid level <paramref name="scale"/> (level 0 shares the image types' class).</summary>
    private static byte ScaleClass(int scale) => scale == 0 ? ImageVolume.BlockClass : (byte)(0x30 + scale);

    /// <summary>The volume of pyramid level <paramref name="scale"/> (same block size at every level; only level 0 is indexed).</summary>
    public ImageVolume At(int scale)
    {
        if (scale < 0 || scale > MaxDownres)
            throw DatastoreException.BadRequest($"scale {scale} is not available: data \"{_data.Instance.Name}\" keeps levels 0 to {MaxDownres} (MaxDownresLevel)");
        return Level(scale);
    }

    /// <summary>Coarsest level block routes may name: DVID lets clients store and read blocks at any scale.</summary>
    public const int MaxBlockScale = 30;

    /// <summary>
    /// The blocks of level <paramref name="scale"/> whether or not the pyramid keeps it (block GETs and POSTs: DVID does
    /// not check <c>MaxDownresLevel</c> there, so clients store their own coarse levels; only levels up to
    /// <see cref="MaxDownres"/> are computed from level 0).
    /// </summary>
    public ImageVolume Level(int scale)
    {
        if (scale < 0 || scale > MaxBlockScale) throw DatastoreException.BadRequest($"scale {scale} must be 0 to {MaxBlockScale}");
        if (scale <= MaxDownres) return _scales[scale] ??= new ImageVolume(_data, _coord, VoxelType.Uint64, _codec, ScaleClass(scale), _settings);
        return new ImageVolume(_data, _coord, VoxelType.Uint64, _codec, ScaleClass(scale), _settings);
    }

    private static byte[] Key(byte cls, ulong label)
    {
        var k = new byte[9];
        k[0] = cls;
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(1), label);
        return k;
    }

    private static void CheckLabel(ulong label, string what)
    {
        if (label == 0) throw DatastoreException.BadRequest($"Label 0 is protected background value and cannot be used for {what}");
    }

    private void RequireIndex()
    {
        if (!Indexed) throw DatastoreException.BadRequest($"data \"{_data.Instance.Name}\" does not index its labels (IndexedLabels is false)");
    }

    /// <summary>
    /// Runs a read of several records so that it sees every change whole or not at all: between two commits when it
    /// can, else (after a few tries under a stream of changes) holding the change turn, so that none commits meanwhile.
    /// Never called while holding the turn (inside a change nothing else commits, so plain reads are consistent).
    /// </summary>
    private async Task<T> ReadConsistentAsync<T>(Func<Task<T>> read, CancellationToken ct)
    {
        var (done, result) = await Stamp.TryReadAsync(read, 4, ct);
        if (done) return result!;
        using var turn = await _coord.LockRecordAsync(Id, Version, ChangeLockName, ct);
        return await read();
    }

    /// <summary>
    /// Runs one change of this instance at this version as a transaction: alone (changes take turns), committed whole
    /// or not at all, and seen whole or not at all by readers that check <see cref="Stamp"/>.
    /// </summary>
    private async Task<T> ChangeAsync<T>(Func<Transaction, Task<T>> body, CancellationToken ct)
    {
        using var turn = await _coord.LockRecordAsync(Id, Version, ChangeLockName, ct);
        return await _data.WriteAsync(body, ct, Stamp);
    }
}
