using System.Runtime.InteropServices;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Codecs.SparseVolumes;

namespace Diced.Datastore.Types.Labels;

/// <summary>Reading labels: voxels (mapped to bodies unless asked for supervoxels), labels at points, sparse volumes.</summary>
public sealed partial class LabelVolume
{
    /// <summary>
    /// Level <paramref name="scale"/> read from a snapshot of the store, with the mapping (empty when
    /// <paramref name="supervoxels"/>) of that same committed state, for reads too long to repeat (streams). Stores
    /// without snapshots give the live volume. Dispose the view when the read is done.
    /// </summary>
    public async Task<ConsistentView> ViewAsync(int scale, bool supervoxels, CancellationToken ct = default)
    {
        var vol = Level(scale);
        for (int attempt = 0; ; attempt++)
        {
            using var turn = attempt < 4 ? null : await _coord.LockRecordAsync(Id, Version, ChangeLockName, ct);
            long seen = await Stamp.SettledAsync(ct);
            var snapshot = _data.IsSnapshot ? null : _data.Store.OpenSnapshot();
            try
            {
                var mapping = supervoxels ? Empty : await MappingAsync(ct);
                if (Stamp.Current == seen)
                    return new ConsistentView(snapshot is null ? vol : vol.ReadingFrom(_data.ReadingFrom(snapshot)), mapping, snapshot);
            }
            catch
            {
                snapshot?.Dispose();
                throw;
            }
            snapshot?.Dispose();
        }
    }

    /// <summary>A volume and mapping of one committed state (see <see cref="ViewAsync"/>).</summary>
    public sealed record ConsistentView(ImageVolume Volume, IReadOnlyDictionary<ulong, ulong> Mapping, IDisposable? Snapshot) : IDisposable
    {
        public void Dispose() => Snapshot?.Dispose();
    }

    /// <summary>Streams <paramref name="box"/> as uint64 labels (bodies unless <paramref name="supervoxels"/>), one slab at a
    /// time, all of one committed state where the store has snapshots.</summary>
    public async Task ReadAsync(Box box, bool supervoxels, SlabSink sink, CancellationToken ct = default, int scale = 0)
    {
        using var view = await ViewAsync(scale, supervoxels, ct);
        var mapping = view.Mapping;
        var volume = view.Volume;
        // Label blocks map their label table once as they decode; other codecs map the decoded voxels.
        if (mapping.Count > 0 && volume.Codec is LabelBlockCodec labelCodec)
        {
            volume = volume.DecodingWith(labelCodec.Mapped(mapping));
            mapping = Empty;
        }
        await volume.ReadAsync(box, async (part, slab, token) =>
        {
            if (mapping.Count > 0) ApplyMapping(MemoryMarshal.Cast<byte, ulong>(MemoryMarshal.AsMemory(slab).Span), mapping);
            await sink(part, slab, token);
        }, ct);
    }

    /// <summary>Reads <paramref name="box"/> into one buffer (small requests), consistent with one committed state.</summary>
    public Task<byte[]> ReadAllAsync(Box box, bool supervoxels, CancellationToken ct = default, int scale = 0)
        => ReadConsistentAsync(async () =>
        {
            var all = await At(scale).ReadAllAsync(box, ct);
            var mapping = supervoxels ? Empty : await MappingAsync(ct);
            ApplyMapping(MemoryMarshal.Cast<byte, ulong>(all.AsSpan()), mapping);
            return all;
        }, ct);

    /// <summary>Labels at points (one block decode per distinct block).</summary>
    public Task<ulong[]> LabelsAtAsync(IReadOnlyList<Point3> points, bool supervoxels, CancellationToken ct = default, int scale = 0)
        => ReadConsistentAsync(async () =>
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
        }, ct);

    // ---------------------------------------------------------------- sparse volumes

    /// <summary>
    /// The runs of a label's voxels (a body, or one supervoxel), reading only the blocks its index names; null when the
    /// label does not exist here. Blocks outside <paramref name="bounds"/> are skipped; with <paramref name="exact"/>
    /// runs are clipped to the bounds too.
    /// </summary>
    public Task<List<Run>?> SparsevolAsync(ulong label, bool supervoxels, VoxelBounds bounds, bool exact, CancellationToken ct = default, int scale = 0)
        => ReadConsistentAsync(async () =>
        {
            var runs = new List<Run>();
            bool found = await ForEachLabelBlockAsync(label, supervoxels, scale, bounds, (blockBox, labels, members) =>
                SparseRuns.AppendRuns(labels, blockBox, members, exact ? bounds : VoxelBounds.None, runs), ct);
            return found ? runs : null;
        }, ct);

    private delegate void LabelBlockVisitor(Box blockBox, ReadOnlySpan<ulong> labels, HashSet<ulong> members);

    /// <summary>
    /// Visits, in z, y, x order, the stored blocks of <paramref name="scale"/> that the label's index names (outside
    /// <paramref name="bounds"/> skipped), with the supervoxels that make up the label there. False when the label does
    /// not exist. At a coarser level a block covers 2^scale level-0 blocks per axis and is visited once.
    /// Callers run it inside <see cref="ReadConsistentAsync{T}"/>.
    /// </summary>
    private async Task<bool> ForEachLabelBlockAsync(ulong label, bool supervoxels, int scale, VoxelBounds bounds, LabelBlockVisitor visit, CancellationToken ct)
    {
        var vol = At(scale);
        RequireIndex();
        var idx = supervoxels && HasMapping ? await SupervoxelIndexNowAsync(label, ct) : await GetIndexAsync(label, ct);
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
    public Task<byte[]?> SparsevolMaskAsync(ulong label, bool supervoxels, int scale, CancellationToken ct = default)
    {
        var bs = BlockSize;
        if (bs.X % 8 != 0 || bs.Y % 8 != 0 || bs.Z % 8 != 0) throw DatastoreException.BadRequest("format=blocks needs block sizes that are multiples of 8");
        return ReadConsistentAsync(async () =>
        {
            using var ms = new MemoryStream();
            using var w = new BinaryWriter(ms);
            var mask = new SparseVolume.BlockMaskWriter(w, (bs.X, bs.Y, bs.Z), label);
            bool found = await ForEachLabelBlockAsync(label, supervoxels, scale, VoxelBounds.None,
                (blockBox, labels, members) => mask.Write((blockBox.Offset.X, blockBox.Offset.Y, blockBox.Offset.Z), labels, members), ct);
            if (!found) return null;
            w.Flush();
            return ms.ToArray();
        }, ct);
    }
}
