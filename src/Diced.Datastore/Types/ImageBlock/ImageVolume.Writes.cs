using System.Buffers;
using System.Text.Json;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>Told of each block a transaction changes: its voxels before (all zeros when <paramref name="existed"/> is
/// false) and after. Called concurrently for different blocks.</summary>
public delegate void BlockChanged(Point3 block, ReadOnlySpan<byte> before, bool existed, ReadOnlySpan<byte> after);

public sealed partial class ImageVolume
{
    // ---------------------------------------------------------------- whole writes (image types)

    /// <summary>
    /// Writes packed voxels covering <paramref name="box"/> at any alignment, all blocks and the extents in one
    /// atomic commit. Blocks wholly inside are replaced; partly covered blocks keep their other voxels
    /// (read-modify-write under the blocks' locks, so concurrent writers never lose each other's voxels).
    /// </summary>
    /// <param name="mask">Only voxels inside this ROI are written (<c>roi=</c>); the others keep what the blocks hold.</param>
    public Task WriteAsync(Box box, ReadOnlyMemory<byte> voxels, CancellationToken ct = default, Roi.RoiMask? mask = null)
    {
        CheckVoxels(box, voxels);
        var blocks = BlocksOf(box);
        return _data.WriteAsync(async tx =>
        {
            await LockForWriteAsync(tx, blocks, ct);
            await WriteIntoAsync(tx, box, voxels, null, ct, mask);
            await GrowExtentsAsync(tx, box, ct);
            if (Pyramid is not null) await Pyramid.UpdateAsync(tx, blocks, ct);
            return 0;
        }, ct);
    }

    /// <summary>Starts a write of <paramref name="box"/> whose voxels arrive one layer of blocks at a time.</summary>
    public VolumeUpload BeginUpload(Box box) => new(this, box);

    /// <summary>Stores what an upload received: whole blocks already encoded, parts of the others merged into what they
    /// hold (read-modify-write), and the extents, in one atomic commit under the blocks' locks.</summary>
    internal Task WriteEncodedAsync(Box box, IReadOnlyList<(Point3 Block, byte[] Encoded)> whole, IReadOnlyList<(Point3 Block, Box Part, byte[] Voxels)> parts,
        CancellationToken ct)
        => _data.WriteAsync(async tx =>
        {
            var blocks = BlocksOf(box);
            await LockForWriteAsync(tx, blocks, ct);
            foreach (var (block, encoded) in whole) tx.Put(KeyOf(block), encoded);
            var bs = BlockSize;
            await ForEachBlockAsync(parts, async (p, token) =>
            {
                var blockBox = new Box(p.Block.BlockOrigin(bs), bs);
                await ModifyBlockAsync(tx, p.Block, (current, _) =>
                {
                    Copy(p.Voxels, p.Part, current, blockBox, p.Part, BytesPerVoxel);
                    return true;
                }, createMissing: true, null, token);
            }, ct);
            await GrowExtentsAsync(tx, box, ct);
            if (Pyramid is not null) await Pyramid.UpdateAsync(tx, blocks, ct);
            return 0;
        }, ct);

    /// <summary>Replaces many whole blocks in one atomic commit.</summary>
    public Task WriteBlocksAsync(IReadOnlyList<(Point3 Block, ReadOnlyMemory<byte> Voxels)> blocks, CancellationToken ct = default)
    {
        if (blocks.Count == 0) return Task.CompletedTask;
        return _data.WriteAsync(async tx =>
        {
            var written = blocks.Select(b => b.Block).Distinct().ToList();
            await LockForWriteAsync(tx, written, ct);
            await WriteWholeBlocksAsync(tx, blocks, null, ct);
            await GrowExtentsAsync(tx, BlockSpan(written), ct);
            if (Pyramid is not null) await Pyramid.UpdateAsync(tx, written, ct);
            return 0;
        }, ct);
    }

    /// <summary>Replaces <paramref name="span"/> consecutive blocks along x, from packed block data.</summary>
    public Task WriteBlocksAsync(Point3 firstBlock, int span, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        if (data.Length != (long)span * BlockBytes)
            throw DatastoreException.BadRequest($"block data was {data.Length} bytes, expected {span} blocks of {BlockBytes} bytes");
        var blocks = Enumerable.Range(0, span).Select(i => (new Point3(firstBlock.X + i, firstBlock.Y, firstBlock.Z), data.Slice(i * BlockBytes, BlockBytes))).ToList();
        return WriteBlocksAsync(blocks, ct);
    }

    // ---------------------------------------------------------------- parts of a transaction (label types compose these)

    /// <summary>Locks <paramref name="blocks"/> of this volume until <paramref name="tx"/> ends.</summary>
    public async Task LockBlocksAsync(Transaction tx, IEnumerable<Point3> blocks, CancellationToken ct)
        => tx.Hold(await _coord.LockBlocksAsync(_data.Instance.InstanceId, _data.WriteVersion, _blockClass, blocks, ct));

    /// <summary>Locks the blocks a write changes and, when this volume keeps a pyramid, every parent above them.</summary>
    private async Task LockForWriteAsync(Transaction tx, IReadOnlyCollection<Point3> blocks, CancellationToken ct)
    {
        // The pyramid's depth as the repo holds it now: a request that began before MaxDownresLevel rose must still
        // update the new levels, or its blocks' parents there would stay stale after a rebuild passed them by (a
        // rebuild that starts later waits for these locks, as it locks the level below the one it builds).
        if (_keepsPyramid && ImagePyramid.MaxLevelOf(_data.Repo.State.Instances.GetValueOrDefault(_data.Instance.Name) ?? _data.Instance) is var live
            && live != (Pyramid?.MaxLevel ?? 0))
            WithPyramid(live);
        if (Pyramid is null) await LockBlocksAsync(tx, blocks, ct);
        else tx.Hold(await _coord.LockBlocksAsync(_data.Instance.InstanceId, _data.WriteVersion, Pyramid.LockSet(blocks), ct));
    }

    /// <summary>Writes voxels of <paramref name="box"/> into the transaction; returns the blocks written.</summary>
    public async Task<List<Point3>> WriteIntoAsync(Transaction tx, Box box, ReadOnlyMemory<byte> voxels, BlockChanged? observe, CancellationToken ct,
        Roi.RoiMask? mask = null)
    {
        CheckVoxels(box, voxels);
        var blocks = BlocksOf(box);
        var bs = BlockSize;
        await ForEachBlockAsync(blocks, async (block, token) =>
        {
            var blockBox = new Box(block.BlockOrigin(bs), bs);
            var part = blockBox.Intersect(box)!.Value;
            if (part == blockBox && observe is null && mask is null)
            {
                PutBlock(tx, block, buffer => Copy(voxels.Span, box, buffer, blockBox, part, BytesPerVoxel));
                return;
            }
            await ModifyBlockAsync(tx, block, (current, _) =>
            {
                if (mask is null) Copy(voxels.Span, box, current, blockBox, part, BytesPerVoxel);
                else mask.CopyInside(voxels.Span, box, current, blockBox, part, BytesPerVoxel);
                return true;
            }, createMissing: true, observe, token);
        }, ct);
        return blocks;
    }

    /// <summary>Replaces whole blocks in the transaction; a block named twice gets its last voxels, as if written in turn.</summary>
    public Task WriteWholeBlocksAsync(Transaction tx, IReadOnlyList<(Point3 Block, ReadOnlyMemory<byte> Voxels)> blocks, BlockChanged? observe, CancellationToken ct)
        => ForEachBlockAsync(blocks.GroupBy(b => b.Block).Select(g => g.Last()), async (b, token) =>
        {
            if (b.Voxels.Length != BlockBytes) throw DatastoreException.BadRequest($"block {b.Block} has {b.Voxels.Length} bytes, expected {BlockBytes}");
            if (observe is null)
            {
                PutBlock(tx, b.Block, buffer => b.Voxels.Span.CopyTo(buffer));
                return;
            }
            await ModifyBlockAsync(tx, b.Block, (current, _) =>
            {
                b.Voxels.Span.CopyTo(current);
                return true;
            }, createMissing: true, observe, token);
        }, ct);

    /// <summary>Read-modify-writes existing blocks (relabelling) in the transaction; returns the blocks changed.</summary>
    public async Task<List<Point3>> ModifyBlocksAsync(Transaction tx, IReadOnlyCollection<Point3> blocks, Func<Point3, byte[], bool> modify, BlockChanged? observe, CancellationToken ct)
    {
        var changed = new System.Collections.Concurrent.ConcurrentBag<Point3>();
        await ForEachBlockAsync(blocks, async (b, token) =>
        {
            if (await ModifyBlockAsync(tx, b, (voxels, _) => modify(b, voxels), createMissing: false, observe, token)) changed.Add(b);
        }, ct);
        return changed.ToList();
    }

    /// <summary>
    /// Read-modify-writes one block in the transaction: <paramref name="modify"/> gets the block's voxels (zeros when
    /// none is stored) and whether one was stored, changes them in place and says whether to store the result.
    /// The caller holds the block's lock.
    /// </summary>
    public async ValueTask<bool> ModifyBlockAsync(Transaction tx, Point3 block, Func<byte[], bool, bool> modify, bool createMissing, BlockChanged? observe, CancellationToken ct)
    {
        var stored = await tx.GetAsync(KeyOf(block), ct);
        if (stored is null && !createMissing) return false;
        var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
        var before = observe is null ? null : ArrayPool<byte>.Shared.Rent(BlockBytes);
        try
        {
            var voxels = buffer.AsSpan(0, BlockBytes);
            if (stored is null) voxels.Clear();
            else _codec.Decode(stored, voxels);
            if (before is not null) voxels.CopyTo(before);
            if (!modify(buffer, stored is not null)) return false;
            tx.Put(KeyOf(block), _codec.Encode(voxels));
            observe?.Invoke(block, before.AsSpan(0, BlockBytes), stored is not null, voxels);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (before is not null) ArrayPool<byte>.Shared.Return(before);
        }
    }

    /// <summary>Reads and decodes one block as the transaction sees it; false (dest untouched) when none is stored.</summary>
    public async ValueTask<bool> TryReadBlockAsync(Transaction tx, Point3 block, byte[] dest, CancellationToken ct = default)
    {
        if (await tx.GetAsync(KeyOf(block), ct) is not { } stored) return false;
        _codec.Decode(stored, dest.AsSpan(0, BlockBytes));
        return true;
    }

    /// <summary>Encodes and stores one whole block that <paramref name="fill"/> writes into a block-sized buffer.</summary>
    public void PutBlock(Transaction tx, Point3 block, SpanAction fill)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
        try
        {
            fill(buffer.AsSpan(0, BlockBytes));
            tx.Put(KeyOf(block), _codec.Encode(buffer.AsSpan(0, BlockBytes)));
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    public delegate void SpanAction(Span<byte> block);

    /// <summary>Runs <paramref name="body"/> for each item, one per core (block codecs are CPU-bound).</summary>
    private static Task ForEachBlockAsync<T>(IEnumerable<T> items, Func<T, CancellationToken, ValueTask> body, CancellationToken ct)
        => Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, body);

    private void CheckVoxels(Box box, ReadOnlyMemory<byte> voxels)
    {
        if (voxels.Length != box.VoxelCount * BytesPerVoxel)
            throw DatastoreException.BadRequest($"voxels data was {voxels.Length} bytes, expected {box.VoxelCount * BytesPerVoxel} bytes for {box}");
    }

    /// <summary>The blocks <paramref name="box"/> touches, in z, y, x order.</summary>
    public List<Point3> BlocksOf(Box box)
    {
        var bs = BlockSize;
        var first = box.FirstBlock(bs);
        var last = box.LastBlock(bs);
        var blocks = new List<Point3>();
        for (int z = first.Z; z <= last.Z; z++)
            for (int y = first.Y; y <= last.Y; y++)
                for (int x = first.X; x <= last.X; x++)
                    blocks.Add(new Point3(x, y, z));
        return blocks;
    }

    /// <summary>The voxel box spanned by whole blocks.</summary>
    public Box BlockSpan(IEnumerable<Point3> blocks)
    {
        var list = blocks as IReadOnlyCollection<Point3> ?? blocks.ToList();
        var bs = BlockSize;
        var lo = list.Aggregate(Point3.Min);
        var hi = list.Aggregate(Point3.Max);
        return new Box(lo.BlockOrigin(bs), (hi - lo + new Point3(1, 1, 1)).BlockOrigin(bs));
    }

    // ---------------------------------------------------------------- extents

    private static byte[] ExtentsKey => [ExtentsClass];

    /// <summary>The extents visible at this version, or null before any write.</summary>
    /// <remarks>A pyramid level's extents are level 0's, in the level's voxels (the blocks that cover them there).</remarks>
    public async ValueTask<Extents?> GetExtentsAsync(CancellationToken ct = default)
        => PyramidLevel == 0 ? await GetLevel0ExtentsAsync(ct) : ImagePyramid.ScaleExtents(await GetLevel0ExtentsAsync(ct), PyramidLevel, BlockSize);

    private async ValueTask<Extents?> GetLevel0ExtentsAsync(CancellationToken ct)
    {
        uint id = _data.Instance.InstanceId, v = _data.WriteVersion;
        if (!_data.Store.IsShared && _coord.TryGetRecord<Extents>(id, v, ExtentsRecord, out var cached)) return cached;
        var stored = await _data.GetAsync(ExtentsKey, ct);
        var extents = stored is null ? null : ParseExtents(stored);
        // Only an open node's own record can still change, and only through this process's writes, so caching is safe;
        // a commit that cached newer extents meanwhile wins.
        _coord.TryAddRecord(id, v, ExtentsRecord, extents);
        return extents;
    }

    /// <summary>Replaces the extents at this version (<c>POST …/extents</c>).</summary>
    public Task SetExtentsAsync(Extents extents, CancellationToken ct = default)
        => _data.WriteAsync(async tx =>
        {
            tx.Hold(await _coord.LockRecordAsync(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord, ct));
            tx.Put(ExtentsKey, FormatExtents(extents));
            tx.AfterCommit(() => _coord.SetRecord(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord, extents));
            return 0;
        }, ct);

    /// <summary>Grows the extents to cover <paramref name="written"/>, in the transaction. Only a write that grows them
    /// takes their lock (held until the commit) and, on shared stores, makes them a condition of the commit.</summary>
    public async Task GrowExtentsAsync(Transaction tx, Box written, CancellationToken ct)
    {
        if (_blockClass != BlockClass) return; // coarser pyramid levels: the extents are level 0's, in its voxels
        var bs = BlockSize;
        var lo = written.FirstBlock(bs).BlockOrigin(bs);
        var lastBlock = written.LastBlock(bs);
        var hi = new Point3(lastBlock.X + 1, lastBlock.Y + 1, lastBlock.Z + 1).BlockOrigin(bs) - new Point3(1, 1, 1);
        // Extents only grow: when they already cover the write, nothing needs to change, whoever writes meanwhile. The
        // extents this process last saw will do for that (on a shared store they may be behind another server's, and
        // the locked read below then finds them covering; only another server's POST extents shrinking them could
        // leave them ahead), which on an object store saves a read of every growing write.
        uint id = _data.Instance.InstanceId, v = _data.WriteVersion;
        var known = _coord.TryGetRecord<Extents>(id, v, ExtentsRecord, out var cached) && cached is not null ? cached
            : await tx.PeekAsync(ExtentsKey, ct) is { } seen ? ParseExtents(seen) : null;
        if (known is not null && Covers(known, lo, hi)) return;
        tx.Hold(await _coord.LockRecordAsync(id, v, ExtentsRecord, ct));
        // Read through the transaction: it may have grown them already, and on shared stores another server may have
        // (what was read is then a condition of the commit).
        var current = await tx.GetAsync(ExtentsKey, ct) is { } stored ? ParseExtents(stored) : null;
        var next = current is null ? new Extents(lo, hi) : new Extents(Point3.Min(current.MinPoint, lo), Point3.Max(current.MaxPoint, hi));
        if (next == current)
        {
            _coord.TryAddRecord(id, v, ExtentsRecord, current);
            return;
        }
        tx.Put(ExtentsKey, FormatExtents(next));
        tx.AfterCommit(() => _coord.SetRecord(id, v, ExtentsRecord, next));
    }

    private static bool Covers(Extents e, Point3 lo, Point3 hi)
        => e.MinPoint == Point3.Min(e.MinPoint, lo) && e.MaxPoint == Point3.Max(e.MaxPoint, hi);

    private static byte[] FormatExtents(Extents e)
        => JsonSerializer.SerializeToUtf8Bytes(new { MinPoint = new[] { e.MinPoint.X, e.MinPoint.Y, e.MinPoint.Z }, MaxPoint = new[] { e.MaxPoint.X, e.MaxPoint.Y, e.MaxPoint.Z } });

    private static Extents ParseExtents(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        Point3 P(string name)
        {
            var a = doc.RootElement.GetProperty(name);
            return new Point3(a[0].GetInt32(), a[1].GetInt32(), a[2].GetInt32());
        }
        return new Extents(P("MinPoint"), P("MaxPoint"));
    }
}
