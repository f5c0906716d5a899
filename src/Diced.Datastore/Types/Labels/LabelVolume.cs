using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>A run of <see cref="Length"/> voxels from (X, Y, Z) along +x (sparse volumes).</summary>
public readonly record struct Run(int X, int Y, int Z, int Length);

/// <summary>Inclusive voxel bounds of a sparsevol request; null sides are open.</summary>
public sealed record VoxelBounds(int? MinX, int? MaxX, int? MinY, int? MaxY, int? MinZ, int? MaxZ)
{
    public static readonly VoxelBounds None = new(null, null, null, null, null, null);

    public bool IsNone => this == None;

    public bool BlockOutside(Box block) =>
        (MinX is { } a && block.Last.X < a) || (MaxX is { } b && block.Offset.X > b) ||
        (MinY is { } c && block.Last.Y < c) || (MaxY is { } d && block.Offset.Y > d) ||
        (MinZ is { } e && block.Last.Z < e) || (MaxZ is { } f && block.Offset.Z > f);
}

/// <summary>
/// A label instance at one version: uint64 voxels in blocks (labelblk: LZ4 arrays; labelmap/labelarray: DVID label
/// blocks), and for labelmap the supervoxel → body mapping, per-body label indices kept current as blocks are
/// written, the max label, label allocation and mutations (merge, cleave) with a durable mutation log.
/// </summary>
public sealed class LabelVolume : IBlockObserver
{
    public const byte IndexClass = 0x50, MappingClass = 0x51, MaxLabelClass = 0x52, MutationClass = 0x53;
    private const string MappingRecord = "mapping", MaxLabelRecord = "maxlabel", RepoMaxRecord = "repomax", IndexLockName = "labelindex";

    private readonly Datastore _ds;
    private readonly VersionedData _data;
    private readonly VolumeCoordination _coord;

    public LabelVolume(Datastore ds, VersionedData data)
    {
        _ds = ds;
        _data = data;
        _coord = ds.Volumes;
        Type = (LabelType)ds.Types.Get(data.Instance.TypeName);
        var settings = ImageSettings.From(data.Instance);
        Indexed = data.Instance.Settings.GetValueOrDefault(LabelType.IndexedKey) == "true";
        _codec = Type.Kind == LabelKind.Labelblk ? null
            : new LabelBlockCodec(CompressionSpec.Parse(data.Instance.Compression), settings.BlockSize, data.Instance.Checksum);
        _settings = settings;
        MaxDownres = int.Parse(data.Instance.Settings.GetValueOrDefault(LabelType.MaxDownresKey, "0"), System.Globalization.CultureInfo.InvariantCulture);
        Volume = new ImageVolume(data, _coord, VoxelType.Uint64, _codec, Type.Kind == LabelKind.Labelblk ? null : this, settings: settings);
        _scales = new ImageVolume[MaxDownres + 1];
        _scales[0] = Volume;
    }

    private readonly IBlockCodec? _codec;
    private readonly ImageSettings _settings;
    private readonly ImageVolume[] _scales;

    /// <summary>Coarsest pyramid level kept (<c>MaxDownresLevel</c>); level s halves every axis s times.</summary>
    public int MaxDownres { get; }

    /// <summary>Block key class of pyramid level <paramref name="scale"/> (level 0 shares the image types' class).</summary>
    private static byte ScaleClass(int scale) => scale == 0 ? ImageVolume.BlockClass : (byte)(0x30 + scale);

    /// <summary>The volume of pyramid level <paramref name="scale"/> (same block size at every level; only level 0 is indexed).</summary>
    public ImageVolume At(int scale)
    {
        if (scale < 0 || scale > MaxDownres)
            throw DatastoreException.BadRequest($"scale {scale} is not available: data \"{_data.Instance.Name}\" keeps levels 0 to {MaxDownres} (MaxDownresLevel)");
        return _scales[scale] ??= new ImageVolume(_data, _coord, VoxelType.Uint64, _codec, null, ScaleClass(scale), _settings);
    }

    public LabelType Type { get; }
    public ImageVolume Volume { get; }
    public VersionedData Data => _data;
    public bool Indexed { get; }
    public bool HasMapping => Type.Kind == LabelKind.Labelmap;
    public Point3 BlockSize => Volume.BlockSize;

    /// <summary>Who makes the current request (recorded with mutations and label indices).</summary>
    public string User { get; set; } = "";

    /// <summary>Block writes leave label indices alone (<c>noindexing=true</c>, <c>ingest-supervoxels</c>).</summary>
    public bool SkipIndexing { get; set; }
    public string App { get; set; } = "";

    private uint Id => _data.Instance.InstanceId;
    private uint Version => _data.WriteVersion;
    private string LabelCounter => "label/" + _data.Instance.DataUuid;
    private string MutationCounter => "mutation/" + _data.Repo.Root;

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

    // ---------------------------------------------------------------- block writes keep indices and max label

    async ValueTask IBlockObserver.BlockWrittenAsync(VersionedData.Writer writer, Point3 block, ReadOnlyMemory<byte>? before, ReadOnlyMemory<byte> after, CancellationToken ct)
    {
        var delta = new Dictionary<ulong, long>();
        ulong max = Count(MemoryMarshal.Cast<byte, ulong>(after.Span), delta, +1);
        if (before is { } b) Count(MemoryMarshal.Cast<byte, ulong>(b.Span), delta, -1);
        if (max > 0) await RaiseMaxLabelAsync(writer, max, ct);
        if (!Indexed || SkipIndexing) return;
        foreach (var k in delta.Where(kv => kv.Value == 0).Select(kv => kv.Key).ToList()) delta.Remove(k);
        if (delta.Count == 0) return;
        var gate = _coord.RecordLock(Id, Version, IndexLockName);
        await gate.WaitAsync(ct);
        try
        {
            var mapping = await MappingAsync(ct);
            foreach (var group in delta.GroupBy(kv => BodyOf(mapping, kv.Key)))
                await UpdateIndexAsync(writer, group.Key, idx =>
                {
                    foreach (var (sv, d) in group) idx.Add(block, sv, d);
                }, ct);
        }
        finally { gate.Release(); }
    }

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

    // ---------------------------------------------------------------- max label and allocation

    private async ValueTask RaiseMaxLabelAsync(VersionedData.Writer writer, ulong label, CancellationToken ct)
    {
        bool shared = _data.Store.IsShared;
        if (!shared && _coord.TryGetRecord<System.Runtime.CompilerServices.StrongBox<ulong>>(Id, Version, MaxLabelRecord, out var known) && known!.Value >= label
            && _coord.TryGetRecord<System.Runtime.CompilerServices.StrongBox<ulong>>(Id, 0, RepoMaxRecord, out var repo) && repo!.Value >= label) return;
        var gate = _coord.RecordLock(Id, Version, MaxLabelRecord);
        await gate.WaitAsync(ct);
        try
        {
            ulong stored = 0;
            await writer.UpdateAsync([MaxLabelClass], current =>
            {
                stored = current is null ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(current);
                if (stored >= label && current is not null) return current;
                var v = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(v, Math.Max(stored, label));
                return v;
            }, ct);
            _coord.SetRecord(Id, Version, MaxLabelRecord, new System.Runtime.CompilerServices.StrongBox<ulong>(Math.Max(stored, label)));
            // Ids handed out by nextlabel must stay above every label written in any version of the repo.
            await _ds.RaiseCounterAsync(LabelCounter, label, ct);
            _coord.SetRecord(Id, 0, RepoMaxRecord, new System.Runtime.CompilerServices.StrongBox<ulong>(label));
        }
        finally { gate.Release(); }
    }

    /// <summary>The largest label written at this version or an ancestor; null before any write.</summary>
    public async Task<ulong?> MaxLabelAsync(CancellationToken ct = default)
        => await _data.GetAsync([MaxLabelClass], ct) is { } v ? BinaryPrimitives.ReadUInt64LittleEndian(v) : null;

    /// <summary>The id the next allocation would return (repo-wide).</summary>
    public Task<ulong> NextLabelAsync(CancellationToken ct = default) => _ds.PeekCounterAsync(LabelCounter, ct);

    /// <summary>Reserves <paramref name="count"/> new label ids, never handed out again in this repo.</summary>
    public async Task<(ulong Start, ulong End)> ReserveLabelsAsync(ulong count, CancellationToken ct = default)
    {
        if (count == 0) throw DatastoreException.BadRequest("the number of labels to reserve must be at least 1");
        var start = await _ds.ReserveAsync(LabelCounter, count, 1, ct);
        return (start, start + count - 1);
    }

    // ---------------------------------------------------------------- mapping

    /// <summary>Every non-identity supervoxel → body assignment visible here (cached per version in this process).</summary>
    public async ValueTask<IReadOnlyDictionary<ulong, ulong>> MappingAsync(CancellationToken ct = default)
    {
        if (!HasMapping) return Empty;
        bool cacheable = !_data.Store.IsShared || _data.Node.Locked;
        if (cacheable && _coord.TryGetRecord<Dictionary<ulong, ulong>>(Id, Version, MappingRecord, out var cached) && cached is not null) return cached;
        // Loading and changing the mapping exclude each other, so a load never caches a mapping a mutation has passed.
        var gate = _coord.RecordLock(Id, Version, MappingRecord);
        await gate.WaitAsync(ct);
        try
        {
            if (cacheable && _coord.TryGetRecord(Id, Version, MappingRecord, out cached) && cached is not null) return cached;
            var map = new Dictionary<ulong, ulong>();
            await foreach (var (tk, v) in _data.ScanAsync([MappingClass], [MappingClass + 1], false, ct))
                map[BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(1))] = BinaryPrimitives.ReadUInt64LittleEndian(v);
            if (cacheable) _coord.SetRecord(Id, Version, MappingRecord, map);
            return map;
        }
        finally { gate.Release(); }
    }

    private static readonly IReadOnlyDictionary<ulong, ulong> Empty = new Dictionary<ulong, ulong>();

    public static ulong BodyOf(IReadOnlyDictionary<ulong, ulong> mapping, ulong sv) => mapping.TryGetValue(sv, out var b) ? b : sv;

    /// <summary>Maps supervoxels to bodies in place (runs of equal labels are looked up once).</summary>
    public static void ApplyMapping(Span<ulong> labels, IReadOnlyDictionary<ulong, ulong> mapping)
    {
        if (mapping.Count == 0) return;
        ulong last = 0, lastBody = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            ulong l = labels[i];
            if (l == 0) continue;
            if (l != last)
            {
                last = l;
                lastBody = BodyOf(mapping, l);
            }
            labels[i] = lastBody;
        }
    }

    /// <summary>Mapping changes made by the running mutation, applied to the cached mapping when it succeeds.</summary>
    private readonly List<(ulong Sv, ulong Body)> _mappingChanges = [];

    private async ValueTask SetMappingAsync(VersionedData.Writer writer, IEnumerable<ulong> supervoxels, ulong body, CancellationToken ct)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(value, body);
        foreach (var sv in supervoxels)
        {
            if (sv == body) await writer.DeleteNowAsync(Key(MappingClass, sv), ct);
            else await writer.PutNowAsync(Key(MappingClass, sv), value, ct);
            lock (_mappingChanges) _mappingChanges.Add((sv, body));
        }
    }

    // ---------------------------------------------------------------- label indices

    /// <summary>The index of a body (labelmap) or label; null when the label has no voxels here.</summary>
    public async Task<LabelIndex?> GetIndexAsync(ulong label, CancellationToken ct = default)
        => await _data.GetAsync(Key(IndexClass, label), ct) is { } v ? LabelIndex.Deserialize(v) : null;

    private async ValueTask UpdateIndexAsync(VersionedData.Writer writer, ulong label, Action<LabelIndex> change, CancellationToken ct)
    {
        await writer.UpdateAsync(Key(IndexClass, label), current =>
        {
            var idx = current is null ? new LabelIndex(label) : LabelIndex.Deserialize(current);
            change(idx);
            if (idx.IsEmpty) return null;
            idx.LastModTime = DateTimeOffset.UtcNow;
            idx.LastModUser = User;
            idx.LastModApp = App;
            return idx.Serialize();
        }, ct);
    }

    private void RequireIndex()
    {
        if (!Indexed) throw DatastoreException.BadRequest($"data \"{_data.Instance.Name}\" does not index its labels (IndexedLabels is false)");
    }

    /// <summary>The body a supervoxel belongs to and that body's index, when the supervoxel exists here.</summary>
    public async Task<(ulong Body, LabelIndex Index)?> FindSupervoxelAsync(ulong sv, CancellationToken ct = default)
    {
        RequireIndex();
        var body = BodyOf(await MappingAsync(ct), sv);
        var idx = await GetIndexAsync(body, ct);
        if (idx is null || !idx.Blocks.Values.Any(c => c.ContainsKey(sv))) return null;
        return (body, idx);
    }

    /// <summary>The index of <paramref name="label"/> (a body, or with <paramref name="supervoxels"/> one supervoxel's share of its body's).</summary>
    public async Task<LabelIndex?> IndexOfAsync(ulong label, bool supervoxels, CancellationToken ct = default)
    {
        RequireIndex();
        if (!supervoxels || !HasMapping) return await GetIndexAsync(label, ct);
        if (await FindSupervoxelAsync(label, ct) is not { } found) return null;
        var only = new LabelIndex(label);
        foreach (var (block, counts) in found.Index.Blocks)
            if (counts.TryGetValue(label, out var n)) only.Add(block, label, n);
        return only;
    }

    // ---------------------------------------------------------------- reads

    /// <summary>Streams <paramref name="box"/> as uint64 labels (bodies unless <paramref name="supervoxels"/>), one slab at a time.</summary>
    public async Task ReadAsync(Box box, bool supervoxels, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sink, CancellationToken ct = default, int scale = 0)
    {
        var vol = At(scale);
        var mapping = supervoxels ? Empty : await MappingAsync(ct);
        await vol.ReadAsync(box, async (slab, token) =>
        {
            if (mapping.Count > 0) ApplyMapping(MemoryMarshal.Cast<byte, ulong>(MemoryMarshal.AsMemory(slab).Span), mapping);
            await sink(slab, token);
        }, ct);
    }

    public async Task<byte[]> ReadAllAsync(Box box, bool supervoxels, CancellationToken ct = default, int scale = 0)
    {
        var all = await At(scale).ReadAllAsync(box, ct);
        var mapping = supervoxels ? Empty : await MappingAsync(ct);
        ApplyMapping(MemoryMarshal.Cast<byte, ulong>(all.AsSpan()), mapping);
        return all;
    }

    /// <summary>Labels at points (one block decode per distinct block).</summary>
    public async Task<ulong[]> LabelsAtAsync(IReadOnlyList<Point3> points, bool supervoxels, CancellationToken ct = default, int scale = 0)
    {
        var vol = At(scale);
        var result = new ulong[points.Count];
        var bs = BlockSize;
        var buffer = new byte[Volume.BlockBytes];
        foreach (var group in Enumerable.Range(0, points.Count).GroupBy(i => points[i].BlockOf(bs)))
        {
            if (!await vol.TryReadBlockAsync(group.Key, buffer, ct)) continue;
            var labels = MemoryMarshal.Cast<byte, ulong>(buffer);
            var origin = group.Key.BlockOrigin(bs);
            foreach (var i in group)
            {
                var p = points[i] - origin;
                result[i] = labels[(p.Z * bs.Y + p.Y) * bs.X + p.X];
            }
        }
        if (!supervoxels)
        {
            var mapping = await MappingAsync(ct);
            for (int i = 0; i < result.Length; i++) if (result[i] != 0) result[i] = BodyOf(mapping, result[i]);
        }
        return result;
    }

    // ---------------------------------------------------------------- sparse volumes

    /// <summary>
    /// The runs of a label's voxels (a body, or one supervoxel), reading only the blocks its index names; null when the
    /// label does not exist here. Blocks outside <paramref name="bounds"/> are skipped; with <paramref name="exact"/>
    /// runs are clipped to the bounds too.
    /// </summary>
    public async Task<List<Run>?> SparsevolAsync(ulong label, bool supervoxels, VoxelBounds bounds, bool exact, CancellationToken ct = default, int scale = 0)
    {
        var runs = new List<Run>();
        bool found = await ForEachLabelBlockAsync(label, supervoxels, scale, bounds, (blockBox, labels, members) =>
            AppendRuns(labels, blockBox, members, exact ? bounds : VoxelBounds.None, runs), ct);
        return found ? runs : null;
    }

    private delegate void LabelBlockVisitor(Box blockBox, ReadOnlySpan<ulong> labels, HashSet<ulong> members);

    /// <summary>
    /// Visits, in z, y, x order, the stored blocks of <paramref name="scale"/> that the label's index names (outside
    /// <paramref name="bounds"/> skipped), with the supervoxels that make up the label there. False when the label does
    /// not exist. At a coarser level a block covers 2^scale level-0 blocks per axis and is visited once.
    /// </summary>
    private async Task<bool> ForEachLabelBlockAsync(ulong label, bool supervoxels, int scale, VoxelBounds bounds, LabelBlockVisitor visit, CancellationToken ct)
    {
        var vol = At(scale);
        var idx = await IndexOfAsync(label, supervoxels, ct);
        if (idx is null) return false;
        var bs = BlockSize;
        var buffer = new byte[vol.BlockBytes];
        var blocks = new Dictionary<Point3, HashSet<ulong>>();
        foreach (var (block, counts) in idx.Blocks)
        {
            var b = new Point3(block.X >> scale, block.Y >> scale, block.Z >> scale);
            if (!blocks.TryGetValue(b, out var set)) blocks[b] = set = new HashSet<ulong>();
            set.UnionWith(counts.Keys);
        }
        foreach (var (block, members) in blocks.OrderBy(b => b.Key.Z).ThenBy(b => b.Key.Y).ThenBy(b => b.Key.X))
        {
            var blockBox = new Box(block.BlockOrigin(bs), bs);
            if (bounds.BlockOutside(blockBox)) continue;
            if (!await vol.TryReadBlockAsync(block, buffer, ct)) continue;
            visit(blockBox, MemoryMarshal.Cast<byte, ulong>(buffer), members);
        }
        return true;
    }

    /// <summary>
    /// <c>sparsevol?format=blocks</c>: per block a flag (0 none, 1 all, 2 mixed) and, for mixed blocks, per 8³
    /// sub-block a flag and a 512-bit mask (z, y, x order, LSB first); null when the label does not exist.
    /// </summary>
    public async Task<byte[]?> SparsevolMaskAsync(ulong label, bool supervoxels, int scale, CancellationToken ct = default)
    {
        var bs = BlockSize;
        if (bs.X % 8 != 0 || bs.Y % 8 != 0 || bs.Z % 8 != 0) throw DatastoreException.BadRequest("format=blocks needs block sizes that are multiples of 8");
        int gx = bs.X / 8, gy = bs.Y / 8, gz = bs.Z / 8;
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write(gx); w.Write(gy); w.Write(gz); w.Write(label);
        var mask = new byte[64];
        bool found = await ForEachLabelBlockAsync(label, supervoxels, scale, VoxelBounds.None, (blockBox, labels, members) =>
        {
            int inBlock = 0;
            foreach (var l in labels) if (l != 0 && members.Contains(l)) inBlock++;
            if (inBlock == 0) return;
            w.Write(blockBox.Offset.X); w.Write(blockBox.Offset.Y); w.Write(blockBox.Offset.Z);
            if (inBlock == labels.Length) { w.Write((byte)1); return; }
            w.Write((byte)2);
            for (int sz = 0; sz < gz; sz++)
            for (int sy = 0; sy < gy; sy++)
            for (int sx = 0; sx < gx; sx++)
            {
                Array.Clear(mask);
                int n = 0;
                for (int z = 0; z < 8; z++)
                for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    var l = labels[((sz * 8 + z) * bs.Y + sy * 8 + y) * bs.X + sx * 8 + x];
                    if (l == 0 || !members.Contains(l)) continue;
                    int bit = (z * 8 + y) * 8 + x;
                    mask[bit >> 3] |= (byte)(1 << (bit & 7));
                    n++;
                }
                if (n == 0) w.Write((byte)0);
                else if (n == 512) w.Write((byte)1);
                else { w.Write((byte)2); w.Write(mask); }
            }
        }, ct);
        if (!found) return null;
        w.Flush();
        return ms.ToArray();
    }

    // ---------------------------------------------------------------- writes and the pyramid

    /// <summary>Writes voxels at level 0 (indices follow) and brings the coarser levels up to date.</summary>
    public async Task WriteAsync(Box box, ReadOnlyMemory<byte> voxels, CancellationToken ct = default)
    {
        await Volume.WriteAsync(box, voxels, ct);
        var bs = BlockSize;
        var first = box.FirstBlock(bs);
        var last = box.LastBlock(bs);
        var changed = new List<Point3>();
        for (int z = first.Z; z <= last.Z; z++) for (int y = first.Y; y <= last.Y; y++) for (int x = first.X; x <= last.X; x++) changed.Add(new Point3(x, y, z));
        await DownresAsync(changed, ct);
    }

    /// <summary>Replaces whole blocks at <paramref name="scale"/>; level-0 writes update indices (unless skipped) and,
    /// with <paramref name="downres"/>, the coarser levels.</summary>
    public async Task WriteBlocksAsync(IReadOnlyList<(Point3 Block, ReadOnlyMemory<byte> Voxels)> blocks, int scale, bool downres, CancellationToken ct = default)
    {
        await At(scale).WriteBlocksAsync(blocks, ct);
        if (scale == 0 && downres) await DownresAsync(blocks.Select(b => b.Block).ToList(), ct);
    }

    /// <summary>
    /// Recomputes the pyramid above changed level-0 blocks: each coarser block is the 2×2×2 majority vote (ties to
    /// the smaller label) of the 2×2×2 blocks below it. One lock per coarse block orders concurrent writers, so the
    /// last recomputation reads every finished write below it.
    /// </summary>
    public async Task DownresAsync(IReadOnlyCollection<Point3> changed, CancellationToken ct = default)
    {
        var bs = BlockSize;
        IEnumerable<Point3> current = changed;
        var parent = new byte[bs.Product * 8];
        for (int s = 1; s <= MaxDownres; s++)
        {
            var parents = current.Select(b => new Point3(b.X >> 1, b.Y >> 1, b.Z >> 1)).Distinct().ToList();
            var below = At(s - 1);
            var above = At(s);
            foreach (var p in parents)
            {
                var gate = _coord.RecordLock(Id, Version, $"downres/{s}/{p.X},{p.Y},{p.Z}");
                await gate.WaitAsync(ct);
                try
                {
                    var region = new Box(new Point3(p.X * 2, p.Y * 2, p.Z * 2).BlockOrigin(bs), new Point3(bs.X * 2, bs.Y * 2, bs.Z * 2));
                    var all = await below.ReadAllAsync(region, ct);
                    Downsample(MemoryMarshal.Cast<byte, ulong>(all.AsSpan()), MemoryMarshal.Cast<byte, ulong>(parent.AsSpan()), bs);
                    await above.WriteBlockAsync(p, parent, ct);
                }
                finally { gate.Release(); }
            }
            current = parents;
        }
    }

    /// <summary>2×2×2 majority vote of a (2X, 2Y, 2Z) volume into an (X, Y, Z) block; ties go to the smaller label.</summary>
    public static void Downsample(ReadOnlySpan<ulong> source, Span<ulong> dest, Point3 size)
    {
        int sx = size.X * 2, sy = size.Y * 2;
        Span<ulong> v = stackalloc ulong[8];
        for (int z = 0; z < size.Z; z++)
        for (int y = 0; y < size.Y; y++)
        for (int x = 0; x < size.X; x++)
        {
            int i = 0;
            for (int dz = 0; dz < 2; dz++)
            for (int dy = 0; dy < 2; dy++)
            {
                var row = source.Slice(((2 * z + dz) * sy + 2 * y + dy) * sx + 2 * x, 2);
                v[i++] = row[0];
                v[i++] = row[1];
            }
            ulong best = v[0];
            if (!(v[1] == best && v[2] == best && v[3] == best && v[4] == best && v[5] == best && v[6] == best && v[7] == best))
            {
                int bestCount = 0;
                for (int a = 0; a < 8; a++)
                {
                    int c = 0;
                    for (int b = 0; b < 8; b++) if (v[b] == v[a]) c++;
                    if (c > bestCount || (c == bestCount && v[a] < best)) { bestCount = c; best = v[a]; }
                }
            }
            dest[(z * size.Y + y) * size.X + x] = best;
        }
    }

    private static void AppendRuns(ReadOnlySpan<ulong> labels, Box blockBox, HashSet<ulong> members, VoxelBounds b, List<Run> runs)
    {
        var bs = blockBox.Size;
        var o = blockBox.Offset;
        int x0 = b.MinX is { } lo ? (int)Math.Clamp((long)lo - o.X, 0, bs.X) : 0;
        int x1 = b.MaxX is { } hi ? (int)Math.Clamp((long)hi - o.X, -1, bs.X - 1) : bs.X - 1;
        for (int z = 0; z < bs.Z; z++)
        {
            int vz = o.Z + z;
            if ((b.MinZ is { } mz && vz < mz) || (b.MaxZ is { } xz && vz > xz)) continue;
            for (int y = 0; y < bs.Y; y++)
            {
                int vy = o.Y + y;
                if ((b.MinY is { } my && vy < my) || (b.MaxY is { } xy && vy > xy)) continue;
                var row = labels.Slice((z * bs.Y + y) * bs.X, bs.X);
                int x = x0;
                ulong last = 0;
                bool lastIn = false;
                while (x <= x1)
                {
                    ulong l = row[x];
                    bool isIn = l == last ? lastIn : (lastIn = members.Contains(last = l));
                    if (!isIn) { x++; continue; }
                    int start = x;
                    while (x <= x1 && (row[x] == l || members.Contains(row[x]))) x++;
                    runs.Add(new Run(o.X + start, vy, vz, x - start));
                }
            }
        }
    }

    // ---------------------------------------------------------------- mutations

    private async Task<ulong> NewMutationAsync(CancellationToken ct) => await _ds.ReserveAsync(MutationCounter, 1, 1, ct);

    /// <summary>Records a mutation in this instance's durable log (ordered by mutation id, visible in descendants).</summary>
    private async Task LogMutationAsync(VersionedData.Writer writer, ulong id, string action, object details, CancellationToken ct)
    {
        var record = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["MutationID"] = id, ["Action"] = action, ["UUID"] = _data.Node.Uuid, ["User"] = User, ["App"] = App,
            ["Time"] = DateTimeOffset.UtcNow.ToString("O"), ["Details"] = details,
        });
        await writer.PutNowAsync(Key(MutationClass, id), record, ct);
    }

    /// <summary>The mutation records visible here, in mutation order.</summary>
    public async Task<List<JsonElement>> MutationsAsync(CancellationToken ct = default)
    {
        var list = new List<JsonElement>();
        await foreach (var (_, v) in _data.ScanAsync([MutationClass], [MutationClass + 1], false, ct))
            list.Add(JsonDocument.Parse(v).RootElement.Clone());
        return list;
    }

    /// <summary>Runs one mutation at a time per instance and version (merges, cleaves, splits, renumbers never interleave).</summary>
    private async Task<T> SerializedAsync<T>(Func<Task<T>> body, CancellationToken ct, bool needsMapping = true)
    {
        if (needsMapping && !HasMapping) throw DatastoreException.BadRequest($"{Type.Name} does not support this mutation");
        RequireIndex();
        var gate = _coord.RecordLock(Id, Version, "mutation");
        await gate.WaitAsync(ct);
        try { return await body(); }
        finally { gate.Release(); }
    }

    /// <summary>A mapping-and-index change: under the mutation, index and mapping locks.</summary>
    private Task<T> MutateAsync<T>(Func<VersionedData.Writer, IReadOnlyDictionary<ulong, ulong>, Task<T>> body, CancellationToken ct)
        => SerializedAsync(() => MutateLockedAsync(body, ct), ct);

    private async Task<T> MutateLockedAsync<T>(Func<VersionedData.Writer, IReadOnlyDictionary<ulong, ulong>, Task<T>> body, CancellationToken ct)
    {
        using var writer = _data.BeginWrite();
        var gate = _coord.RecordLock(Id, Version, IndexLockName);
        await gate.WaitAsync(ct);
        try
        {
            var mapping = await MappingAsync(ct);
            var mappingGate = _coord.RecordLock(Id, Version, MappingRecord);
            await mappingGate.WaitAsync(ct);
            bool done = false;
            lock (_mappingChanges) _mappingChanges.Clear();
            try
            {
                var result = await body(writer, mapping);
                done = true;
                return result;
            }
            finally
            {
                // A finished mutation updates the cached mapping (a copy: readers may hold the old one); a failed one
                // drops it, to be re-read from the store.
                Dictionary<ulong, ulong>? next = null;
                if (done && _coord.TryGetRecord<Dictionary<ulong, ulong>>(Id, Version, MappingRecord, out var cached) && cached is not null)
                {
                    next = new Dictionary<ulong, ulong>(cached);
                    lock (_mappingChanges)
                        foreach (var (sv, b) in _mappingChanges)
                            if (sv == b) next.Remove(sv); else next[sv] = b;
                }
                _coord.SetRecord(Id, Version, MappingRecord, next);
                mappingGate.Release();
            }
        }
        finally { gate.Release(); }
    }

    /// <summary>Merges bodies into <paramref name="target"/>: their supervoxels map to it, their indices fold into its.</summary>
    public Task<ulong> MergeAsync(ulong target, IReadOnlyList<ulong> merged, CancellationToken ct = default)
    {
        CheckLabel(target, "merges");
        foreach (var m in merged) CheckLabel(m, "merges");
        if (merged.Count == 0) throw DatastoreException.BadRequest("merge needs a target and at least one label to merge");
        if (merged.Contains(target)) throw DatastoreException.BadRequest($"cannot merge label {target} into itself");
        if (!HasMapping) return MergeByRewriteAsync(target, merged, ct);
        return MutateAsync(async (writer, mapping) =>
        {
            var into = await GetIndexAsync(target, ct) ?? throw DatastoreException.BadRequest($"can't merge into a non-existent label {target}");
            var sources = new List<LabelIndex>();
            foreach (var m in merged.Distinct())
                sources.Add(await GetIndexAsync(m, ct) ?? throw DatastoreException.BadRequest($"can't merge non-existent label {m}"));
            ulong id = await NewMutationAsync(ct);
            foreach (var src in sources)
            {
                await SetMappingAsync(writer, src.Supervoxels(), target, ct);
                into.Absorb(src);
            }
            into.LastMutationId = id;
            await UpdateIndexAsync(writer, target, idx => { idx.Blocks.Clear(); idx.Absorb(into); idx.LastMutationId = id; }, ct);
            foreach (var src in sources) await writer.DeleteNowAsync(Key(IndexClass, src.Label), ct);
            await LogMutationAsync(writer, id, "merge", new { Target = target, Labels = merged }, ct);
            return id;
        }, ct);
    }

    /// <summary>labelarray's merge: no mapping, so the merged labels' voxels are rewritten to the target.</summary>
    private Task<ulong> MergeByRewriteAsync(ulong target, IReadOnlyList<ulong> merged, CancellationToken ct)
        => SerializedAsync(async () =>
        {
            RequireIndex();
            if (await GetIndexAsync(target, ct) is null) throw DatastoreException.BadRequest($"can't merge into a non-existent label {target}");
            var blocks = new HashSet<Point3>();
            foreach (var m in merged.Distinct())
                blocks.UnionWith((await GetIndexAsync(m, ct) ?? throw DatastoreException.BadRequest($"can't merge non-existent label {m}")).Blocks.Keys);
            ulong id = await NewMutationAsync(ct);
            var set = merged.ToHashSet();
            var changed = await Volume.ModifyBlocksAsync(blocks, (b, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                bool any = false;
                for (int i = 0; i < labels.Length; i++)
                    if (set.Contains(labels[i])) { labels[i] = target; any = true; }
                return any;
            }, ct);
            await DownresAsync(changed, ct);
            using var writer = _data.BeginWrite();
            await LogMutationAsync(writer, id, "merge", new { Target = target, Labels = merged }, ct);
            return id;
        }, ct, needsMapping: false);

    /// <summary>Moves supervoxels of <paramref name="label"/> to a newly allocated body.</summary>
    public Task<(ulong Cleaved, ulong MutationId)> CleaveAsync(ulong label, IReadOnlyList<ulong> supervoxels, CancellationToken ct = default)
    {
        CheckLabel(label, "cleaves");
        if (supervoxels.Count == 0) throw DatastoreException.BadRequest("no cleave supervoxels JSON was POSTed");
        return MutateAsync(async (writer, mapping) =>
        {
            var idx = await GetIndexAsync(label, ct) ?? throw DatastoreException.BadRequest($"cannot cleave non-existent label {label}");
            var all = idx.Supervoxels();
            var moving = supervoxels.ToHashSet();
            foreach (var sv in moving)
                if (!all.Contains(sv)) throw DatastoreException.BadRequest($"cannot cleave supervoxel {sv}, which does not exist in label {label}");
            if (moving.Count == all.Count) throw DatastoreException.BadRequest($"cannot cleave all supervoxels from the label {label}");
            var (newLabel, _) = await ReserveLabelsAsync(1, ct);
            ulong id = await NewMutationAsync(ct);
            var cleaved = idx.Extract(moving, newLabel);
            await SetMappingAsync(writer, moving, newLabel, ct);
            await UpdateIndexAsync(writer, label, i => { i.Blocks.Clear(); i.Absorb(idx); i.LastMutationId = id; }, ct);
            await UpdateIndexAsync(writer, newLabel, i => { i.Blocks.Clear(); i.Absorb(cleaved); i.LastMutationId = id; }, ct);
            await LogMutationAsync(writer, id, "cleave", new { OrigLabel = label, CleavedLabel = newLabel, CleavedSupervoxels = supervoxels }, ct);
            return (newLabel, id);
        }, ct);
    }

    /// <summary>Parses a legacy RLE sparse volume body (12-byte header, then x, y, z, length runs).</summary>
    public static List<Run> ParseRuns(ReadOnlySpan<byte> body)
    {
        if (body.Length < 12) throw DatastoreException.BadRequest($"sparse volume body of {body.Length} bytes is shorter than its 12-byte header");
        if (body[0] != 0) throw DatastoreException.BadRequest($"sparse volume payload descriptor {body[0]} is not supported (only 0, binary)");
        if (body[1] != 3) throw DatastoreException.BadRequest($"sparse volume has {body[1]} dimensions; only 3 are supported");
        long spans = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
        if (body.Length != 12 + 16 * spans)
            throw DatastoreException.BadRequest($"sparse volume declares {spans} runs, which need {12 + 16 * spans} bytes, but has {body.Length}");
        var runs = new List<Run>((int)spans);
        for (int at = 12; at < body.Length; at += 16)
        {
            var r = new Run(BinaryPrimitives.ReadInt32LittleEndian(body[at..]), BinaryPrimitives.ReadInt32LittleEndian(body[(at + 4)..]),
                BinaryPrimitives.ReadInt32LittleEndian(body[(at + 8)..]), BinaryPrimitives.ReadInt32LittleEndian(body[(at + 12)..]));
            if (r.Length <= 0 || (long)r.X + r.Length - 1 > int.MaxValue) throw DatastoreException.BadRequest($"run at ({r.X}, {r.Y}, {r.Z}) has bad length {r.Length}");
            runs.Add(r);
        }
        return runs;
    }

    /// <summary>Whether any voxel under the runs has a label <paramref name="hit"/> accepts (checked before a split changes anything).</summary>
    private async Task<HashSet<ulong>> RunsHitAsync(Dictionary<Point3, List<(int Index, int Length)>> byBlock, Func<ulong, bool> hit, CancellationToken ct)
    {
        var found = new HashSet<ulong>();
        var buffer = new byte[Volume.BlockBytes];
        foreach (var (b, rows) in byBlock)
        {
            if (!await Volume.TryReadBlockAsync(b, buffer, ct)) continue;
            var labels = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
            foreach (var (at, n) in rows)
                for (int i = at; i < at + n; i++)
                    if (hit(labels[i])) found.Add(labels[i]);
        }
        return found;
    }

    /// <summary>Runs grouped by block, as in-block (offset, length) rows.</summary>
    /// <summary>Runs grouped by block, keeping only the blocks in <paramref name="blocks"/> (the label's), so a
    /// huge run costs no more than the label's own blocks.</summary>
    private Dictionary<Point3, List<(int Index, int Length)>> RunsByBlock(IEnumerable<Run> runs, IReadOnlyCollection<Point3> blocks)
    {
        var bs = BlockSize;
        var byBlock = new Dictionary<Point3, List<(int, int)>>();
        if (blocks.Count == 0) return byBlock;
        var lo = blocks.Aggregate(Point3.Min).BlockOrigin(bs);
        var hi = (blocks.Aggregate(Point3.Max) + new Point3(1, 1, 1)).BlockOrigin(bs); // exclusive
        var wanted = blocks as IReadOnlySet<Point3> ?? blocks.ToHashSet();
        foreach (var r in runs)
        {
            if (r.Y < lo.Y || r.Y >= hi.Y || r.Z < lo.Z || r.Z >= hi.Z) continue;
            long start = Math.Max(r.X, lo.X), end = Math.Min((long)r.X + r.Length, hi.X);
            if (start >= end) continue;
            int x = (int)start, left = (int)(end - start);
            while (left > 0)
            {
                var p = new Point3(x, r.Y, r.Z);
                var b = p.BlockOf(bs);
                var o = p - b.BlockOrigin(bs);
                int n = Math.Min(left, bs.X - o.X);
                if (wanted.Contains(b))
                {
                    if (!byBlock.TryGetValue(b, out var list)) byBlock[b] = list = new();
                    list.Add(((o.Z * bs.Y + o.Y) * bs.X + o.X, n));
                }
                x += n;
                left -= n;
            }
        }
        return byBlock;
    }

    /// <summary>
    /// Splits supervoxel <paramref name="sv"/>: its voxels inside <paramref name="runs"/> become <paramref name="splitId"/>,
    /// the rest <paramref name="remainId"/> (new ids when not given); both stay in the supervoxel's body.
    /// </summary>
    public Task<(ulong Split, ulong Remain, ulong MutationId)> SplitSupervoxelAsync(ulong sv, List<Run> runs, ulong? splitId, ulong? remainId, bool downres, CancellationToken ct = default)
    {
        CheckLabel(sv, "splits");
        return SerializedAsync(async () =>
        {
            var (body, index) = await FindSupervoxelAsync(sv, ct) ?? throw DatastoreException.BadRequest($"supervoxel {sv} does not exist");
            var svBlocks = index.Blocks.Where(b => b.Value.ContainsKey(sv)).Select(b => b.Key).ToHashSet();
            var byBlock = RunsByBlock(runs, svBlocks); // runs through blocks without the supervoxel change nothing there
            foreach (var wanted in new[] { splitId, remainId })
                if (wanted is { } given && (given == 0 || given == sv || await FindSupervoxelAsync(given, ct) is not null))
                    throw DatastoreException.BadRequest($"cannot use {given} as a new supervoxel id: it is 0, the split supervoxel, or already exists");
            if (splitId is { } s1 && remainId is { } r1 && s1 == r1) throw DatastoreException.BadRequest($"split and remain ids must differ (both {s1})");
            if ((await RunsHitAsync(byBlock, l => l == sv, ct)).Count == 0) throw DatastoreException.BadRequest($"the split volume does not overlap supervoxel {sv}");
            ulong split = splitId ?? (await ReserveLabelsAsync(1, ct)).Start;
            ulong remain = remainId ?? (await ReserveLabelsAsync(1, ct)).Start;
            ulong id = await NewMutationAsync(ct);
            // New supervoxels join the body first, so the block writes below index them under it.
            await MutateLockedAsync(async (writer, _) => { await SetMappingAsync(writer, [split, remain], body, ct); return 0; }, ct);
            long splitVoxels = 0;
            var changed = await Volume.ModifyBlocksAsync(svBlocks, (b, bytes) =>
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
            }, ct);
            if (splitVoxels == 0) throw DatastoreException.BadRequest($"the split volume does not overlap supervoxel {sv}");
            if (downres) await DownresAsync(changed, ct);
            using (var writer = _data.BeginWrite())
            {
                await UpdateIndexAsync(writer, body, i => i.LastMutationId = id, ct);
                await LogMutationAsync(writer, id, "split-supervoxel", new { Supervoxel = sv, SplitSupervoxel = split, RemainSupervoxel = remain, Body = body }, ct);
            }
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
        return SerializedAsync(async () =>
        {
            var index = await GetIndexAsync(label, ct) ?? throw DatastoreException.BadRequest($"cannot split non-existent label {label}");
            var byBlock = RunsByBlock(runs, index.Blocks.Keys.ToHashSet());
            var members = index.Supervoxels();
            var touched = await RunsHitAsync(byBlock, members.Contains, ct);
            if (touched.Count == 0) throw DatastoreException.BadRequest($"the split volume does not overlap label {label}");
            var (newBody, _) = await ReserveLabelsAsync(1, ct);
            var (first, _) = await ReserveLabelsAsync((ulong)touched.Count, ct);
            var fresh = touched.Order().Select((sv, i) => (sv, id: first + (ulong)i)).ToDictionary(p => p.sv, p => p.id);
            ulong id = await NewMutationAsync(ct);
            await MutateLockedAsync(async (writer, _) => { await SetMappingAsync(writer, fresh.Values, newBody, ct); return 0; }, ct);
            long moved = 0;
            var changed = await Volume.ModifyBlocksAsync(byBlock.Keys.ToList(), (b, bytes) =>
            {
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                bool any = false;
                foreach (var (at, n) in byBlock[b])
                    for (int i = at; i < at + n; i++)
                        if (fresh.TryGetValue(labels[i], out var to)) { labels[i] = to; any = true; Interlocked.Increment(ref moved); }
                return any;
            }, ct);
            if (moved == 0) throw DatastoreException.BadRequest($"the split volume does not overlap label {label}");
            await DownresAsync(changed, ct);
            using (var writer = _data.BeginWrite())
            {
                await UpdateIndexAsync(writer, newBody, i => i.LastMutationId = id, ct);
                await LogMutationAsync(writer, id, "split", new { Target = label, NewLabel = newBody, Voxels = moved }, ct);
            }
            return (newBody, id);
        }, ct);
    }

    /// <summary>Renames bodies: each (new, old) pair moves body <c>old</c>'s supervoxels and index to <c>new</c>.</summary>
    public Task<ulong> RenumberAsync(IReadOnlyList<(ulong New, ulong Old)> pairs, CancellationToken ct = default)
    {
        foreach (var (n, o) in pairs) { CheckLabel(n, "renumbering"); CheckLabel(o, "renumbering"); }
        var all = pairs.SelectMany(p => new[] { p.New, p.Old }).ToList();
        if (all.Distinct().Count() != all.Count) throw DatastoreException.BadRequest("renumber pairs must not repeat a label");
        return MutateAsync(async (writer, mapping) =>
        {
            var sources = new List<(ulong New, LabelIndex Index)>();
            foreach (var (n, o) in pairs)
            {
                if (n == o) continue;
                var idx = await GetIndexAsync(o, ct) ?? throw DatastoreException.BadRequest($"cannot renumber non-existent label {o}");
                if (await GetIndexAsync(n, ct) is not null) throw DatastoreException.BadRequest($"cannot renumber {o} to {n}: label {n} already exists");
                sources.Add((n, idx));
            }
            ulong id = await NewMutationAsync(ct);
            foreach (var (n, idx) in sources)
            {
                await SetMappingAsync(writer, idx.Supervoxels(), n, ct);
                await writer.DeleteNowAsync(Key(IndexClass, idx.Label), ct);
                idx.Label = n;
                await UpdateIndexAsync(writer, n, i => { i.Absorb(idx); i.LastMutationId = id; }, ct);
                await _ds.RaiseCounterAsync(LabelCounter, n, ct);
            }
            await LogMutationAsync(writer, id, "renumber", new { Pairs = pairs.Select(p => new[] { p.New, p.Old }) }, ct);
            return id;
        }, ct);
    }

    /// <summary>Stores (or, when empty, deletes) a label's index as given (<c>POST …/index</c>, used to copy indices).</summary>
    public Task SetIndexAsync(ulong label, LabelIndex index, CancellationToken ct = default)
    {
        CheckLabel(label, "indices");
        return SerializedAsync(async () =>
        {
            await MutateLockedAsync(async (writer, _) =>
            {
                if (index.IsEmpty) await writer.DeleteNowAsync(Key(IndexClass, label), ct);
                else
                {
                    index.Label = label;
                    await writer.PutNowAsync(Key(IndexClass, label), index.Serialize(), ct);
                }
                return 0;
            }, ct);
            return 0;
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
        return MutateAsync(async (writer, _) =>
        {
            foreach (var (mapped, original) in ops) await SetMappingAsync(writer, original, mapped, ct);
            return 0;
        }, ct);
    }
}
