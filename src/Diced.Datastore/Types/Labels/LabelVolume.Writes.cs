using System.Buffers;
using System.Runtime.InteropServices;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>Writing labels: voxels and whole blocks, with indices, max label and the pyramid kept in the same commit.</summary>
public sealed partial class LabelVolume
{
    /// <summary>The observer that collects index changes (a labelblk keeps no index and no max label unless a labelvol views it).</summary>
    private BlockChanged? Observer(BlockChanges changes) => Type.Kind == LabelKind.Labelblk && !Indexed ? null : changes.Observe;

    /// <summary>Writes voxels at level 0; the indices, max label, extents and coarser levels follow in the same commit.</summary>
    public Task WriteAsync(Box box, ReadOnlyMemory<byte> voxels, CancellationToken ct = default)
        => ChangeAsync(async tx =>
        {
            var changes = new BlockChanges();
            var written = await Volume.WriteIntoAsync(tx, box, voxels, Observer(changes), ct);
            await Volume.GrowExtentsAsync(tx, box, ct);
            await ApplyBlockChangesAsync(tx, changes, indexing: true, null, ct);
            await DownresAsync(tx, written, ct);
            await VoxelsChangedAsync(tx, written, null, ct);
            return 0;
        }, ct);

    /// <summary>
    /// Replaces whole blocks at <paramref name="scale"/> in one commit. Level-0 writes raise the max label, update the
    /// label indices when <paramref name="indexing"/> (not for <c>noindexing</c> or <c>ingest-supervoxels</c>) and, with
    /// <paramref name="downres"/>, the coarser levels.
    /// </summary>
    public Task WriteBlocksAsync(IReadOnlyList<(Point3 Block, ReadOnlyMemory<byte> Voxels)> blocks, int scale, bool downres, bool indexing, CancellationToken ct = default)
    {
        var vol = Level(scale);
        if (blocks.Count == 0) return Task.CompletedTask;
        return ChangeAsync(async tx =>
        {
            if (scale != 0)
            {
                await vol.WriteWholeBlocksAsync(tx, blocks, null, ct);
                return 0;
            }
            var changes = new BlockChanges();
            await vol.WriteWholeBlocksAsync(tx, blocks, Observer(changes), ct);
            await vol.GrowExtentsAsync(tx, vol.BlockSpan(blocks.Select(b => b.Block)), ct);
            await ApplyBlockChangesAsync(tx, changes, indexing, null, ct);
            if (downres) await DownresAsync(tx, blocks.Select(b => b.Block).ToList(), ct);
            await VoxelsChangedAsync(tx, blocks.Select(b => b.Block).Distinct().ToList(), null, ct);
            return 0;
        }, ct);
    }

    /// <summary>Recomputes the pyramid above <paramref name="blocks"/> as this version holds them (after a merge settled
    /// them block by block), in one commit.</summary>
    public Task RebuildLevelsAsync(IReadOnlyCollection<Point3> blocks, CancellationToken ct = default)
        => MaxDownres == 0 || blocks.Count == 0 ? Task.CompletedTask : ChangeAsync(async tx =>
        {
            await DownresAsync(tx, blocks, ct);
            return 0;
        }, ct);

    /// <summary>
    /// Recomputes, in the transaction, the pyramid above changed level-0 blocks: each coarser block is the 2×2×2
    /// majority vote (ties to the smaller label) of the 2×2×2 blocks below it, as the transaction sees them.
    /// </summary>
    private async Task DownresAsync(Transaction tx, IReadOnlyCollection<Point3> changed, CancellationToken ct)
    {
        var bs = BlockSize;
        IEnumerable<Point3> current = changed;
        for (int s = 1; s <= MaxDownres; s++)
        {
            var parents = current.Select(b => new Point3(b.X >> 1, b.Y >> 1, b.Z >> 1)).Distinct().ToList();
            var below = At(s - 1);
            var above = At(s);
            await Parallel.ForEachAsync(parents, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (p, token) =>
            {
                int blockBytes = below.BlockBytes;
                var region = ArrayPool<byte>.Shared.Rent(blockBytes * 8);
                var child = ArrayPool<byte>.Shared.Rent(blockBytes);
                try
                {
                    var regionBox = new Box(new Point3(p.X * 2, p.Y * 2, p.Z * 2).BlockOrigin(bs), new Point3(bs.X * 2, bs.Y * 2, bs.Z * 2));
                    for (int dz = 0; dz < 2; dz++)
                    for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                    {
                        var c = new Point3(p.X * 2 + dx, p.Y * 2 + dy, p.Z * 2 + dz);
                        if (!await below.TryReadBlockAsync(tx, c, child, token)) child.AsSpan(0, blockBytes).Clear();
                        var childBox = new Box(c.BlockOrigin(bs), bs);
                        ImageVolume.Copy(child, childBox, region, regionBox, childBox, 8);
                    }
                    above.PutBlock(tx, p, parent => Downsampling.MajorityOf2x2x2(
                        MemoryMarshal.Cast<byte, ulong>(region.AsSpan(0, blockBytes * 8)), MemoryMarshal.Cast<byte, ulong>(parent), bs));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(region);
                    ArrayPool<byte>.Shared.Return(child);
                }
            });
            current = parents;
        }
    }
}
