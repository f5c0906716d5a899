using System.Buffers;
using System.Text.Json;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>Told of each block write, under the block's lock, with the voxels before (null: no block stored) and after.</summary>
public interface IBlockObserver
{
    ValueTask BlockWrittenAsync(VersionedData.Writer writer, Point3 block, ReadOnlyMemory<byte>? before, ReadOnlyMemory<byte> after, CancellationToken ct);
}

/// <summary>Voxel extents of everything written at or above a version: inclusive, block-aligned voxel bounds.</summary>
public sealed record Extents(Point3 MinPoint, Point3 MaxPoint);

/// <summary>
/// A block-stored volume at one version: subvolume reads streamed in z-slabs, writes at any alignment (partial
/// blocks are read-modify-written under a per-block lock), block-level access, and versioned extents.
/// </summary>
public sealed class ImageVolume
{
    public const byte BlockClass = 23, ExtentsClass = 24;
    private const string ExtentsRecord = "extents";

    private readonly VersionedData _data;
    private readonly VolumeCoordination _coord;
    private readonly IBlockCodec _codec;
    private readonly IBlockObserver? _observer;
    private readonly byte _blockClass;

    /// <param name="codec">How blocks are stored (default: the instance's compression envelope).</param>
    /// <param name="observer">Told of every block write with the block's voxels before and after (label indexing).</param>
    /// <param name="blockClass">Key class of the blocks (label types keep one class per scale).</param>
    public ImageVolume(VersionedData data, VolumeCoordination coord, VoxelType voxel, IBlockCodec? codec = null, IBlockObserver? observer = null,
        byte blockClass = BlockClass, ImageSettings? settings = null)
    {
        _data = data;
        _coord = coord;
        Voxel = voxel;
        Settings = settings ?? ImageSettings.From(data.Instance);
        BytesPerVoxel = voxel.BytesPerVoxel();
        _codec = codec ?? new BlockCodec(CompressionSpec.Parse(data.Instance.Compression), Settings.BlockSize, data.Instance.Checksum);
        _observer = observer;
        _blockClass = blockClass;
    }

    public ImageSettings Settings { get; }
    public VoxelType Voxel { get; }
    public int BytesPerVoxel { get; }
    public Point3 BlockSize => Settings.BlockSize;
    public int BlockBytes => Settings.BlockVoxels * BytesPerVoxel;
    public IBlockCodec Codec => _codec;
    public VersionedData Data => _data;

    public static byte[] BlockKey(Point3 block) => BlockKey(BlockClass, block);

    public static byte[] BlockKey(byte blockClass, Point3 block)
    {
        var k = new byte[13];
        k[0] = blockClass;
        block.WriteZyxIndex(k.AsSpan(1));
        return k;
    }

    private byte[] KeyOf(Point3 block) => BlockKey(_blockClass, block);

    public static Point3 BlockOfKey(ReadOnlySpan<byte> tkey) => Point3.ReadZyxIndex(tkey[1..]);

    private static long BlockHash(Point3 b) => ((long)b.Z * 73856093) ^ ((long)b.Y * 19349663) ^ ((long)b.X * 83492791);

    // ---------------------------------------------------------------- reads

    /// <summary>
    /// Reads <paramref name="box"/> as packed voxels (x fastest) and hands it to <paramref name="sink"/> one z-slab
    /// (one layer of blocks) at a time, building the next slab while the previous one is being sent.
    /// Missing blocks read as zeros.
    /// </summary>
    public async Task ReadAsync(Box box, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sink, CancellationToken ct = default)
    {
        var bs = BlockSize;
        var first = box.FirstBlock(bs);
        var last = box.LastBlock(bs);
        var layers = new List<Box>();
        for (int bz = first.Z; bz <= last.Z; bz++)
        {
            int z0 = Math.Max(box.Offset.Z, bz * bs.Z), z1 = Math.Min(box.End.Z, (bz + 1) * bs.Z);
            var layer = new Box(new Point3(box.Offset.X, box.Offset.Y, z0), new Point3(box.Size.X, box.Size.Y, z1 - z0));
            if (layer.VoxelCount * BytesPerVoxel > Array.MaxLength)
                throw DatastoreException.BadRequest($"a single z-slab of {layer.VoxelCount * BytesPerVoxel} bytes is too large; request fewer voxels in x and y");
            layers.Add(layer);
        }
        // Remote stores have latency to hide: fill up to three layers ahead while the current one is sent, within
        // about 128 MiB of slabs. Local stores are CPU-bound: one layer is built while the previous one is sent.
        long slabBytes = layers.Count == 0 ? 1 : layers.Max(l => l.VoxelCount) * BytesPerVoxel;
        int lookahead = _data.Store.ReadParallelism > 1 ? (int)Math.Clamp((128L << 20) / Math.Max(1, slabBytes), 1, 3) : 0;
        var filling = new Queue<(byte[] Slab, int Bytes, Task Fill)>();
        int next = 0;
        Task pending = Task.CompletedTask;
        byte[]? pendingSlab = null;
        try
        {
            while (next < layers.Count || filling.Count > 0)
            {
                while (next < layers.Count && filling.Count <= lookahead)
                {
                    var layer = layers[next++];
                    int bytes = (int)(layer.VoxelCount * BytesPerVoxel);
                    var slab = ArrayPool<byte>.Shared.Rent(bytes);
                    filling.Enqueue((slab, bytes, FillAsync(layer, slab.AsMemory(0, bytes), ct)));
                }
                var (current, currentBytes, fill) = filling.Dequeue();
                try { await fill; }
                catch
                {
                    ArrayPool<byte>.Shared.Return(current);
                    throw;
                }
                await pending;
                if (pendingSlab is not null) ArrayPool<byte>.Shared.Return(pendingSlab);
                pendingSlab = current;
                pending = sink(current.AsMemory(0, currentBytes), ct).AsTask();
            }
            await pending;
        }
        finally
        {
            if (pendingSlab is not null && pending.IsCompleted) ArrayPool<byte>.Shared.Return(pendingSlab);
            while (filling.Count > 0)
            {
                var (slab, _, fill) = filling.Dequeue();
                try { await fill; } catch { /* the first failure is already propagating */ }
                ArrayPool<byte>.Shared.Return(slab);
            }
        }
    }

    /// <summary>Reads <paramref name="box"/> into one buffer (small requests: slices, JPEG volumes).</summary>
    public async Task<byte[]> ReadAllAsync(Box box, CancellationToken ct = default)
    {
        long bytes = box.VoxelCount * BytesPerVoxel;
        if (bytes > Array.MaxLength) throw DatastoreException.BadRequest($"{bytes} bytes is too large for one image");
        var result = GC.AllocateUninitializedArray<byte>((int)bytes);
        int offset = 0;
        await ReadAsync(box, (m, _) =>
        {
            m.Span.CopyTo(result.AsSpan(offset));
            offset += m.Length;
            return ValueTask.CompletedTask;
        }, ct);
        return result;
    }

    /// <summary>
    /// Fills <paramref name="dest"/> with the voxels of <paramref name="box"/>, which lies in one layer of blocks. Each
    /// stored block is decoded straight from the store's memory into a cache-sized buffer and its rows copied into the
    /// slab; blocks that are not stored read as zeros. Local stores are read one block row per core; remote stores
    /// with one listing for the whole layer (block keys of one z run from the first row to the last) and many reads
    /// in flight.
    /// </summary>
    private async Task FillAsync(Box box, Memory<byte> dest, CancellationToken ct)
    {
        var bs = BlockSize;
        var first = box.FirstBlock(bs);
        var last = box.LastBlock(bs);
        int cols = last.X - first.X + 1, rows = last.Y - first.Y + 1;
        var fill = new LayerFill(this, box, dest, new bool[rows * cols], first, cols);
        if (_data.Store.ReadParallelism > 1)
            await _data.ReadVisibleAsync(KeyOf(first), RowEnd(last.X, last.Y, first.Z), fill, DecodeIntoSlab, ct);
        else
            await Parallel.ForEachAsync(Enumerable.Range(first.Y, rows),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Min(rows, Environment.ProcessorCount), CancellationToken = ct },
                async (by, token) => await _data.ReadVisibleAsync(KeyOf(new Point3(first.X, by, first.Z)), RowEnd(last.X, by, first.Z), fill, DecodeIntoSlab, token));
        for (int by = first.Y; by <= last.Y; by++)
            for (int bx = first.X; bx <= last.X; bx++)
            {
                if (fill.Present[(by - first.Y) * cols + bx - first.X]) continue;
                var blockBox = new Box(new Point3(bx, by, first.Z).BlockOrigin(bs), bs);
                Zero(dest.Span, box, blockBox.Intersect(box)!.Value, BytesPerVoxel);
            }
    }

    /// <summary>The key just past block <c>(lastX, y, z)</c> in a row scan.</summary>
    private byte[] RowEnd(int lastX, int y, int z)
        => lastX == int.MaxValue ? KeyOf(new Point3(int.MinValue, y + 1, z)) : KeyOf(new Point3(lastX + 1, y, z));

    /// <summary>Decodes one stored block into the slab (may run concurrently for different blocks).</summary>
    private static void DecodeIntoSlab(ReadOnlySpan<byte> stored, (byte[] TKey, LayerFill State) s)
    {
        var f = s.State;
        var vol = f.Volume;
        var block = BlockOfKey(s.TKey);
        var blockBox = new Box(block.BlockOrigin(vol.BlockSize), vol.BlockSize);
        if (blockBox.Intersect(f.Box) is not { } part) return; // a layer listing also passes blocks beside the box in x
        var buffer = ArrayPool<byte>.Shared.Rent(vol.BlockBytes);
        try
        {
            vol._codec.Decode(stored, buffer.AsSpan(0, vol.BlockBytes));
            Copy(buffer, blockBox, f.Dest.Span, f.Box, part, vol.BytesPerVoxel);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
        f.Present[(block.Y - f.First.Y) * f.Cols + block.X - f.First.X] = true;
    }

    private readonly record struct LayerFill(ImageVolume Volume, Box Box, Memory<byte> Dest, bool[] Present, Point3 First, int Cols);

    /// <summary>Copies the voxels of <paramref name="part"/> from a packed <paramref name="srcBox"/> to a packed <paramref name="dstBox"/>.</summary>
    public static void Copy(ReadOnlySpan<byte> src, Box srcBox, Span<byte> dst, Box dstBox, Box part, int bpv)
    {
        int rowBytes = part.Size.X * bpv;
        for (int z = part.Offset.Z; z < part.End.Z; z++)
        {
            for (int y = part.Offset.Y; y < part.End.Y; y++)
            {
                long s = (((long)(z - srcBox.Offset.Z) * srcBox.Size.Y + (y - srcBox.Offset.Y)) * srcBox.Size.X + (part.Offset.X - srcBox.Offset.X)) * bpv;
                long d = (((long)(z - dstBox.Offset.Z) * dstBox.Size.Y + (y - dstBox.Offset.Y)) * dstBox.Size.X + (part.Offset.X - dstBox.Offset.X)) * bpv;
                src.Slice((int)s, rowBytes).CopyTo(dst.Slice((int)d, rowBytes));
            }
        }
    }

    private static void Zero(Span<byte> dst, Box dstBox, Box part, int bpv)
    {
        int rowBytes = part.Size.X * bpv;
        for (int z = part.Offset.Z; z < part.End.Z; z++)
        {
            for (int y = part.Offset.Y; y < part.End.Y; y++)
            {
                long d = (((long)(z - dstBox.Offset.Z) * dstBox.Size.Y + (y - dstBox.Offset.Y)) * dstBox.Size.X + (part.Offset.X - dstBox.Offset.X)) * bpv;
                dst.Slice((int)d, rowBytes).Clear();
            }
        }
    }

    /// <summary>The stored (encoded) blocks among <paramref name="blocks"/> that exist here, in completion order.</summary>
    public async IAsyncEnumerable<(Point3 Block, byte[] Stored)> ReadStoredAsync(IEnumerable<Point3> blocks,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var b in blocks)
        {
            var stored = await _data.GetAsync(KeyOf(b), ct);
            if (stored is not null) yield return (b, stored);
        }
    }

    /// <summary>Stored blocks of a block-aligned box in z, y, x order (one range scan per block row).</summary>
    public async IAsyncEnumerable<(Point3 Block, byte[] Stored)> ReadStoredBoxAsync(Point3 firstBlock, Point3 lastBlock,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        for (int z = firstBlock.Z; z <= lastBlock.Z; z++)
            for (int y = firstBlock.Y; y <= lastBlock.Y; y++)
            {
                var end = lastBlock.X == int.MaxValue ? KeyOf(new Point3(int.MinValue, y + 1, z)) : KeyOf(new Point3(lastBlock.X + 1, y, z));
                await foreach (var (tk, stored) in _data.ScanAsync(KeyOf(new Point3(firstBlock.X, y, z)), end, false, ct))
                    yield return (BlockOfKey(tk), stored);
            }
    }

    /// <summary>Reads and decodes one block into <paramref name="dest"/>; false (dest untouched) when none is stored.</summary>
    public async ValueTask<bool> TryReadBlockAsync(Point3 block, byte[] dest, CancellationToken ct = default)
    {
        if (await _data.GetAsync(KeyOf(block), ct) is not { } stored) return false;
        _codec.Decode(stored, dest.AsSpan(0, BlockBytes));
        return true;
    }

    /// <summary>Decodes one stored block into <paramref name="dest"/>.</summary>
    public void DecodeBlock(ReadOnlySpan<byte> stored, Span<byte> dest) => _codec.Decode(stored, dest);

    // ---------------------------------------------------------------- writes

    /// <summary>
    /// Writes packed voxels covering <paramref name="box"/> at any alignment. Blocks wholly inside are replaced;
    /// partly covered blocks keep their other voxels (read-modify-write, atomic per block).
    /// </summary>
    public async Task WriteAsync(Box box, ReadOnlyMemory<byte> voxels, CancellationToken ct = default)
    {
        if (voxels.Length != box.VoxelCount * BytesPerVoxel)
            throw DatastoreException.BadRequest($"voxels data was {voxels.Length} bytes, expected {box.VoxelCount * BytesPerVoxel} bytes for {box}");
        var bs = BlockSize;
        var first = box.FirstBlock(bs);
        var last = box.LastBlock(bs);
        var blocks = new List<Point3>();
        for (int z = first.Z; z <= last.Z; z++)
            for (int y = first.Y; y <= last.Y; y++)
                for (int x = first.X; x <= last.X; x++)
                    blocks.Add(new Point3(x, y, z));
        using var writer = _data.BeginWrite();
        await Parallel.ForEachAsync(blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            async (block, token) => await WriteBlockPartAsync(writer, block, box, voxels, token));
        await GrowExtentsAsync(writer, box, ct);
    }

    private async ValueTask WriteBlockPartAsync(VersionedData.Writer writer, Point3 block, Box box, ReadOnlyMemory<byte> voxels, CancellationToken ct)
    {
        var bs = BlockSize;
        var blockBox = new Box(block.BlockOrigin(bs), bs);
        var part = blockBox.Intersect(box)!.Value;
        if (part == blockBox && _observer is null)
        {
            // A whole block without observers: no need to read what was there.
            var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
            try
            {
                Copy(voxels.Span, box, buffer, blockBox, part, BytesPerVoxel);
                await writer.PutNowAsync(KeyOf(block), _codec.Encode(buffer.AsSpan(0, BlockBytes)), ct);
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
            return;
        }
        await ModifyBlockAsync(writer, block, (current, _) =>
        {
            Copy(voxels.Span, box, current, blockBox, part, BytesPerVoxel);
            return true;
        }, createMissing: true, ct);
    }

    /// <summary>
    /// Read-modify-writes one block atomically: <paramref name="modify"/> gets the block's voxels (zeros when none is
    /// stored) and whether one was stored, changes them in place and says whether to store the result. Runs under
    /// the block's lock (and, on shared stores, a conditional write retried on conflict); observers see before/after.
    /// </summary>
    public async ValueTask<bool> ModifyBlockAsync(VersionedData.Writer writer, Point3 block, Func<byte[], bool, bool> modify, bool createMissing, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
        byte[]? before = _observer is null ? null : ArrayPool<byte>.Shared.Rent(BlockBytes);
        try
        {
            var key = KeyOf(block);
            var gate = _coord.BlockLock(_data.Instance.InstanceId, _data.WriteVersion, BlockHash(block) ^ _blockClass);
            await gate.WaitAsync(ct);
            try
            {
                bool existed;
                if (!_data.Store.IsShared)
                {
                    // One process owns the store: the block lock alone makes the read-modify-write atomic.
                    var stored = await _data.GetAsync(key, ct);
                    existed = Load(stored, buffer, before);
                    if ((!existed && !createMissing) || !modify(buffer, existed)) return false;
                    await writer.PutNowAsync(key, _codec.Encode(buffer.AsSpan(0, BlockBytes)), ct);
                }
                else
                {
                    // Other servers may write the same block: write only if the block is still what we modified.
                    for (int attempt = 0; ; attempt++)
                    {
                        var own = await writer.GetOwnTaggedAsync(key, ct);
                        existed = Load(own?.Value ?? await _data.GetAsync(key, ct), buffer, before);
                        if ((!existed && !createMissing) || !modify(buffer, existed)) return false;
                        if (await writer.PutIfAsync(key, _codec.Encode(buffer.AsSpan(0, BlockBytes)), own?.Tag, ct)) break;
                        if (attempt >= 100) throw new DatastoreException($"block {block} of \"{_data.Instance.Name}\" is contended; try again", ErrorKind.Conflict);
                        await Task.Delay(Random.Shared.Next(1, 3 + attempt), ct);
                    }
                }
                if (_observer is not null)
                    // The block is stored: what depends on it must follow even if the client has gone away.
                    await _observer.BlockWrittenAsync(writer, block, existed ? before.AsMemory(0, BlockBytes) : null, buffer.AsMemory(0, BlockBytes), CancellationToken.None);
                return true;
            }
            finally { gate.Release(); }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (before is not null) ArrayPool<byte>.Shared.Return(before);
        }
    }

    /// <summary>Decodes a stored block (or zeros) into <paramref name="buffer"/>, keeping a copy in <paramref name="before"/>.</summary>
    private bool Load(byte[]? stored, byte[] buffer, byte[]? before)
    {
        if (stored is null) buffer.AsSpan(0, BlockBytes).Clear();
        else _codec.Decode(stored, buffer.AsSpan(0, BlockBytes));
        if (before is not null && stored is not null) buffer.AsSpan(0, BlockBytes).CopyTo(before);
        return stored is not null;
    }

    /// <summary>Read-modify-writes existing blocks (relabelling), several at once; returns the blocks changed.</summary>
    public async Task<List<Point3>> ModifyBlocksAsync(IReadOnlyCollection<Point3> blocks, Func<Point3, byte[], bool> modify, CancellationToken ct = default)
    {
        using var writer = _data.BeginWrite();
        var changed = new System.Collections.Concurrent.ConcurrentBag<Point3>();
        await Parallel.ForEachAsync(blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (b, token) =>
        {
            if (await ModifyBlockAsync(writer, b, (voxels, _) => modify(b, voxels), createMissing: false, token)) changed.Add(b);
        });
        return changed.ToList();
    }

    /// <summary>Replaces one whole block (label block POSTs), through the same locking and observation as voxel writes.</summary>
    public async Task WriteBlockAsync(Point3 block, ReadOnlyMemory<byte> blockVoxels, CancellationToken ct = default)
    {
        var blockBox = new Box(block.BlockOrigin(BlockSize), BlockSize);
        using var writer = _data.BeginWrite();
        await WriteBlockPartAsync(writer, block, blockBox, blockVoxels, ct);
        await GrowExtentsAsync(writer, blockBox, ct);
    }

    /// <summary>Replaces many whole blocks, several at once.</summary>
    public async Task WriteBlocksAsync(IReadOnlyList<(Point3 Block, ReadOnlyMemory<byte> Voxels)> blocks, CancellationToken ct = default)
    {
        if (blocks.Count == 0) return;
        using var writer = _data.BeginWrite();
        var bs = BlockSize;
        await Parallel.ForEachAsync(blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            async (b, token) => await WriteBlockPartAsync(writer, b.Block, new Box(b.Block.BlockOrigin(bs), bs), b.Voxels, token));
        var lo = blocks.Select(b => b.Block).Aggregate(Point3.Min);
        var hi = blocks.Select(b => b.Block).Aggregate(Point3.Max);
        await GrowExtentsAsync(writer, new Box(lo.BlockOrigin(bs), (hi - lo + new Point3(1, 1, 1)).BlockOrigin(bs)), ct);
    }

    /// <summary>Replaces <paramref name="span"/> consecutive blocks along x, from packed block data.</summary>
    public async Task WriteBlocksAsync(Point3 firstBlock, int span, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        if (data.Length != (long)span * BlockBytes)
            throw DatastoreException.BadRequest($"block data was {data.Length} bytes, expected {span} blocks of {BlockBytes} bytes");
        using var writer = _data.BeginWrite();
        for (int i = 0; i < span; i++)
        {
            var block = new Point3(firstBlock.X + i, firstBlock.Y, firstBlock.Z);
            await writer.PutNowAsync(KeyOf(block), _codec.Encode(data.Span.Slice(i * BlockBytes, BlockBytes)), ct);
        }
        var bs = BlockSize;
        await GrowExtentsAsync(writer, new Box(firstBlock.BlockOrigin(bs), new Point3(bs.X * span, bs.Y, bs.Z)), ct);
    }

    // ---------------------------------------------------------------- extents

    private static byte[] ExtentsKey => [ExtentsClass];

    /// <summary>The extents visible at this version, or null before any write.</summary>
    public async ValueTask<Extents?> GetExtentsAsync(CancellationToken ct = default)
    {
        uint id = _data.Instance.InstanceId, v = _data.WriteVersion;
        if (!_data.Store.IsShared && _coord.TryGetRecord<Extents>(id, v, ExtentsRecord, out var cached)) return cached;
        var stored = await _data.GetAsync(ExtentsKey, ct);
        var extents = stored is null ? null : ParseExtents(stored);
        // Only an open node's own record can still change, and only through this process's writes, so caching is safe.
        _coord.SetRecord(id, v, ExtentsRecord, extents);
        return extents;
    }

    /// <summary>Replaces the extents at this version (<c>POST …/extents</c>).</summary>
    public async Task SetExtentsAsync(Extents extents, CancellationToken ct = default)
    {
        using var writer = _data.BeginWrite();
        var gate = _coord.RecordLock(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord);
        await gate.WaitAsync(ct);
        try
        {
            await writer.PutNowAsync(ExtentsKey, FormatExtents(extents), ct);
            _coord.SetRecord(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord, extents);
        }
        finally { gate.Release(); }
    }

    private async Task GrowExtentsAsync(VersionedData.Writer writer, Box written, CancellationToken ct)
    {
        if (_blockClass != BlockClass) return; // coarser pyramid levels: the extents are level 0's, in its voxels
        var bs = BlockSize;
        var lo = written.FirstBlock(bs).BlockOrigin(bs);
        var lastBlock = written.LastBlock(bs);
        var hi = new Point3(lastBlock.X + 1, lastBlock.Y + 1, lastBlock.Z + 1).BlockOrigin(bs) - new Point3(1, 1, 1);
        var gate = _coord.RecordLock(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord);
        await gate.WaitAsync(ct);
        try
        {
            if (_data.Store.IsShared)
            {
                // Another server may have grown the extents: merge into the stored record conditionally.
                while (true)
                {
                    var own = await writer.GetOwnTaggedAsync(ExtentsKey, ct);
                    var basis = own is not null ? ParseExtents(own.Value) : (await _data.GetAsync(ExtentsKey, ct) is { } inherited ? ParseExtents(inherited) : null);
                    var grown = basis is null ? new Extents(lo, hi) : new Extents(Point3.Min(basis.MinPoint, lo), Point3.Max(basis.MaxPoint, hi));
                    if (grown == basis && own is not null) return;
                    if (await writer.PutIfAsync(ExtentsKey, FormatExtents(grown), own?.Tag, ct)) return;
                }
            }
            var current = await GetExtentsAsync(ct);
            var next = current is null ? new Extents(lo, hi) : new Extents(Point3.Min(current.MinPoint, lo), Point3.Max(current.MaxPoint, hi));
            if (next == current) return;
            await writer.PutNowAsync(ExtentsKey, FormatExtents(next), ct);
            _coord.SetRecord(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord, next);
        }
        finally { gate.Release(); }
    }

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
