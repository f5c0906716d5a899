using System.Buffers;
using System.Text.Json;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>Receives a read one slab at a time: the part of the box it covers (one layer of blocks) and its packed voxels,
/// valid until the returned task completes.</summary>
public delegate ValueTask SlabSink(Box slab, ReadOnlyMemory<byte> voxels, CancellationToken ct);

/// <summary>Voxel extents of everything written at or above a version: inclusive, block-aligned voxel bounds.</summary>
public sealed record Extents(Point3 MinPoint, Point3 MaxPoint);

/// <summary>
/// A block-stored volume at one version: subvolume reads streamed in z-slabs, writes at any alignment (partial
/// blocks are read-modify-written under a per-block lock), block-level access, and versioned extents.
/// Reads are here; writes and extents in <c>ImageVolume.Writes.cs</c>.
/// </summary>
public sealed partial class ImageVolume
{
    public const byte BlockClass = 23, ExtentsClass = 24;
    private const string ExtentsRecord = "extents";

    private readonly VersionedData _data;
    private readonly VolumeCoordination _coord;
    private readonly IBlockCodec _codec;
    private readonly byte _blockClass;

    /// <param name="codec">How blocks are stored (default: the instance's compression envelope).</param>
    /// <param name="blockClass">Key class of the blocks (label types keep one class per scale).</param>
    public ImageVolume(VersionedData data, VolumeCoordination coord, VoxelType voxel, IBlockCodec? codec = null,
        byte blockClass = BlockClass, ImageSettings? settings = null)
    {
        _data = data;
        _coord = coord;
        Voxel = voxel;
        Settings = settings ?? ImageSettings.From(data.Instance);
        BytesPerVoxel = voxel.BytesPerVoxel();
        _codec = codec ?? new BlockCodec(CompressionSpec.Parse(data.Instance.Compression), Settings.BlockSize, data.Instance.Checksum);
        _blockClass = blockClass;
    }

    public ImageSettings Settings { get; }
    public VoxelType Voxel { get; }
    public int BytesPerVoxel { get; }
    public Point3 BlockSize => Settings.BlockSize;
    public int BlockBytes => Settings.BlockVoxels * BytesPerVoxel;
    public IBlockCodec Codec => _codec;
    public VersionedData Data => _data;
    public VolumeCoordination Coordination => _coord;

    /// <summary>The coarser levels every write of this (level-0 image) volume keeps current, or null.</summary>
    public ImagePyramid? Pyramid { get; private set; }

    /// <summary>Which pyramid level of an image instance this volume is (0: the instance's own voxels).</summary>
    public int PyramidLevel { get; init; }

    private bool _keepsPyramid;

    /// <summary>This (level-0 image) volume keeping levels 1..<paramref name="maxLevel"/> current; writes check the
    /// instance's setting again when they lock, so a level added meanwhile is never missed.</summary>
    public ImageVolume WithPyramid(int maxLevel)
    {
        _keepsPyramid = true;
        Pyramid = maxLevel > 0 ? new ImagePyramid(this, maxLevel) : null;
        return this;
    }

    /// <summary>The store key of a block of this volume (its level's key class).</summary>
    public byte[] KeyFor(Point3 block) => KeyOf(block);

    /// <summary>The same volume read through <paramref name="data"/> (a snapshot of the version: see <see cref="VersionedData.ReadingFrom"/>).</summary>
    public ImageVolume ReadingFrom(VersionedData data) => new(data, _coord, Voxel, _codec, _blockClass, Settings);

    /// <summary>The same volume decoding its blocks with <paramref name="codec"/> (e.g. labels mapped to bodies as they decode).</summary>
    public ImageVolume DecodingWith(IBlockCodec codec) => new(_data, _coord, Voxel, codec, _blockClass, Settings);

    /// <summary>A snapshot of the store when this volume reads the live store and the backend has snapshots; else null.</summary>
    private IKeyValueSnapshot? SnapshotForRead() => _data.IsSnapshot ? null : _data.Store.OpenSnapshot();

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

    // ---------------------------------------------------------------- reads

    /// <summary>
    /// Reads <paramref name="box"/> as packed voxels (x fastest) and hands it to <paramref name="sink"/> one z-slab
    /// (one layer of blocks) at a time, building the next slab while the previous one is being sent.
    /// Missing blocks read as zeros. Where the store has snapshots, the whole read sees one committed state.
    /// </summary>
    public async Task ReadAsync(Box box, SlabSink sink, CancellationToken ct = default)
    {
        using var snapshot = SnapshotForRead();
        if (snapshot is not null)
        {
            await ReadingFrom(_data.ReadingFrom(snapshot)).ReadAsync(box, sink, ct);
            return;
        }
        var layers = box.ZLayers(BlockSize).ToList();
        foreach (var layer in layers)
            if (layer.VoxelCount * BytesPerVoxel > Array.MaxLength)
                throw DatastoreException.BadRequest($"a single z-slab of {layer.VoxelCount * BytesPerVoxel} bytes is too large; request fewer voxels in x and y");
        // Remote stores have latency to hide: fill up to three layers ahead while the current one is sent, within
        // about 128 MiB of slabs. Local stores are CPU-bound: one layer is built while the previous one is sent.
        long slabBytes = layers.Count == 0 ? 1 : layers.Max(l => l.VoxelCount) * BytesPerVoxel;
        int lookahead = _data.Store.ReadParallelism > 1 ? (int)Math.Clamp((128L << 20) / Math.Max(1, slabBytes), 1, 3) : 0;
        var filling = new Queue<(Box Layer, byte[] Slab, int Bytes, Task Fill)>();
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
                    filling.Enqueue((layer, slab, bytes, FillAsync(layer, slab.AsMemory(0, bytes), ct)));
                }
                var (currentLayer, current, currentBytes, fill) = filling.Dequeue();
                try { await fill; }
                catch
                {
                    ArrayPool<byte>.Shared.Return(current);
                    throw;
                }
                await pending;
                if (pendingSlab is not null) ArrayPool<byte>.Shared.Return(pendingSlab);
                pendingSlab = current;
                pending = sink(currentLayer, current.AsMemory(0, currentBytes), ct).AsTask();
            }
            await pending;
        }
        finally
        {
            if (pendingSlab is not null && pending.IsCompleted) ArrayPool<byte>.Shared.Return(pendingSlab);
            while (filling.Count > 0)
            {
                var (_, slab, _, fill) = filling.Dequeue();
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
        await ReadAsync(box, (_, m, _) =>
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
        using var snapshot = SnapshotForRead();
        var data = snapshot is null ? _data : _data.ReadingFrom(snapshot);
        foreach (var b in blocks)
        {
            var stored = await data.GetAsync(KeyOf(b), ct);
            if (stored is not null) yield return (b, stored);
        }
    }

    /// <summary>Stored blocks of a block-aligned box in z, y, x order (one range scan per block row).</summary>
    public async IAsyncEnumerable<(Point3 Block, byte[] Stored)> ReadStoredBoxAsync(Point3 firstBlock, Point3 lastBlock,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        using var snapshot = SnapshotForRead();
        var data = snapshot is null ? _data : _data.ReadingFrom(snapshot);
        for (int z = firstBlock.Z; z <= lastBlock.Z; z++)
            for (int y = firstBlock.Y; y <= lastBlock.Y; y++)
            {
                var end = lastBlock.X == int.MaxValue ? KeyOf(new Point3(int.MinValue, y + 1, z)) : KeyOf(new Point3(lastBlock.X + 1, y, z));
                await foreach (var (tk, stored) in data.ScanAsync(KeyOf(new Point3(firstBlock.X, y, z)), end, false, ct))
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
}
