using System.Runtime.InteropServices;
using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;

namespace Diced.Datastore.Types.Labels;

/// <summary>Building and repairing label indices from stored blocks (a labelblk that a labelvol starts to view), and
/// labelvol's low-level area erase.</summary>
public sealed partial class LabelVolume
{
    /// <summary>Most blocks a resync may name.</summary>
    public const int MaxResyncBlocks = 1 << 20;

    /// <summary>The level-0 blocks stored here, counted up to <paramref name="limit"/>.</summary>
    public async Task<int> CountStoredBlocksAsync(int limit, CancellationToken ct = default)
    {
        int n = 0;
        await foreach (var _ in _data.ScanAsync([ImageVolume.BlockClass], [ImageVolume.BlockClass + 1], keysOnly: true, ct))
            if (++n >= limit) break;
        return n;
    }

    /// <summary>Indexes every label of every stored level-0 block and raises the max label, in one commit.</summary>
    public Task IndexStoredBlocksAsync(CancellationToken ct = default)
    {
        RequireIndex();
        return ChangeAsync(async tx =>
        {
            var indices = new Dictionary<ulong, LabelIndex>();
            var buffer = new byte[Volume.BlockBytes];
            ulong max = 0;
            await foreach (var (tk, stored) in _data.ScanAsync([ImageVolume.BlockClass], [ImageVolume.BlockClass + 1], false, ct))
            {
                var block = ImageVolume.BlockOfKey(tk);
                Volume.DecodeBlock(stored, buffer);
                foreach (var (label, n) in Census(MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan())))
                {
                    if (!indices.TryGetValue(label, out var idx)) indices[label] = idx = new LabelIndex(label);
                    idx.Add(block, label, n);
                    max = Math.Max(max, label);
                }
            }
            foreach (var (label, idx) in indices)
                await UpdateIndexAsync(tx, label, i => { i.Blocks.Clear(); i.Absorb(idx); }, ct);
            if (max > 0) await RaiseMaxLabelAsync(tx, max, ct);
            return 0;
        }, ct);
    }

    /// <summary>
    /// labelvol's <c>resync</c>: recounts <paramref name="label"/> in the blocks of <paramref name="blockRuns"/> from the
    /// stored voxels and stores those counts in its index (other blocks of the index are kept).
    /// </summary>
    public Task ResyncAsync(ulong label, IReadOnlyList<Run> blockRuns, CancellationToken ct = default)
    {
        CheckLabel(label, "resync");
        RequireIndex();
        long total = blockRuns.Sum(r => (long)r.Length);
        if (total > MaxResyncBlocks) throw DatastoreException.BadRequest($"resync names {total} blocks; at most {MaxResyncBlocks} at once");
        return ChangeAsync(async tx =>
        {
            var buffer = new byte[Volume.BlockBytes];
            var counts = new Dictionary<Point3, long>();
            foreach (var r in blockRuns)
                for (int i = 0; i < r.Length; i++)
                {
                    var block = new Point3(r.X + i, r.Y, r.Z);
                    long n = 0;
                    if (await Volume.TryReadBlockAsync(tx, block, buffer, ct))
                        foreach (var v in MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan())) if (v == label) n++;
                    counts[block] = n;
                }
            await UpdateIndexAsync(tx, label, idx =>
            {
                foreach (var (block, n) in counts)
                {
                    long had = idx.Blocks.TryGetValue(block, out var c) && c.TryGetValue(label, out var h) ? h : 0;
                    idx.Add(block, label, n - had);
                }
            }, ct);
            return 0;
        }, ct);
    }

    /// <summary>labelvol's <c>DELETE area</c>: the voxels of <paramref name="label"/> inside <paramref name="box"/> become 0.</summary>
    public Task EraseAreaAsync(ulong label, Box box, CancellationToken ct = default)
    {
        CheckLabel(label, "area deletes");
        RequireIndex();
        return ChangeAsync(async tx =>
        {
            var index = await IndexInAsync(tx, label, ct) ?? throw DatastoreException.NotFound($"label {label} does not exist");
            var bs = BlockSize;
            var blocks = index.Blocks.Keys.Where(b => new Box(b.BlockOrigin(bs), bs).Intersect(box) is not null).ToList();
            var changes = new BlockChanges();
            var changed = await Volume.ModifyBlocksAsync(tx, blocks, (b, bytes) =>
            {
                var blockBox = new Box(b.BlockOrigin(bs), bs);
                var part = blockBox.Intersect(box)!.Value;
                var labels = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(0, Volume.BlockBytes));
                bool any = false;
                for (int z = part.Offset.Z; z < part.Offset.Z + part.Size.Z; z++)
                    for (int y = part.Offset.Y; y < part.Offset.Y + part.Size.Y; y++)
                    {
                        int row = ((z - blockBox.Offset.Z) * bs.Y + (y - blockBox.Offset.Y)) * bs.X - blockBox.Offset.X;
                        for (int x = part.Offset.X; x < part.Offset.X + part.Size.X; x++)
                            if (labels[row + x] == label) { labels[row + x] = 0; any = true; }
                    }
                return any;
            }, changes.Observe, ct);
            await ApplyBlockChangesAsync(tx, changes, indexing: true, null, ct);
            await DownresAsync(tx, changed, ct);
            await VoxelsChangedAsync(tx, changed, null, ct);
            return 0;
        }, ct);
    }

    /// <summary>
    /// Replaces the indices of <paramref name="bodies"/> with counts from the stored <paramref name="blocks"/> (which must
    /// hold every voxel of them), supervoxels mapped as stored here; one commit (a resolve settling its child).
    /// </summary>
    public async Task RecountIndicesAsync(IReadOnlyCollection<ulong> bodies, IReadOnlyCollection<Point3> blocks, CancellationToken ct = default)
    {
        var mapping = await MappingAsync(ct);
        var recounted = bodies.ToDictionary(b => b, b => new LabelIndex(b));
        var buffer = new byte[Volume.BlockBytes];
        foreach (var block in blocks)
        {
            if (!await Volume.TryReadBlockAsync(block, buffer, ct)) continue;
            foreach (var (sv, n) in Census(MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan())))
                if (recounted.TryGetValue(BodyOf(mapping, sv), out var idx)) idx.Add(block, sv, n);
        }
        await _data.WriteAsync(tx =>
        {
            foreach (var (body, idx) in recounted)
            {
                if (idx.IsEmpty) tx.Delete(Key(IndexClass, body));
                else tx.Put(Key(IndexClass, body), idx.Serialize());
            }
            return Task.FromResult(0);
        }, ct);
    }

    /// <summary>Voxel counts of each non-zero label in <paramref name="labels"/>.</summary>
    private static Dictionary<ulong, long> Census(ReadOnlySpan<ulong> labels)
    {
        var counts = new Dictionary<ulong, long>();
        ulong last = 0;
        long run = 0;
        foreach (var v in labels)
        {
            if (v == last) { run++; continue; }
            if (last != 0) counts[last] = counts.GetValueOrDefault(last) + run;
            last = v;
            run = 1;
        }
        if (last != 0) counts[last] = counts.GetValueOrDefault(last) + run;
        return counts;
    }
}
