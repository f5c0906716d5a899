using System.Buffers;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>
/// A write of packed voxels that arrive in z order, one layer of blocks at a time (a request body being received).
/// Whole blocks are encoded as soon as their layer is in, on other cores while the next layer arrives; blocks the
/// box covers only in part keep just their part. <see cref="CommitAsync"/> then stores everything received so far
/// in one atomic commit, as <see cref="ImageVolume.WriteAsync"/> would have, under the same block locks.
/// Memory: the encoded blocks, the parts, and at most <see cref="MaxLayersEncoding"/> raw layers.
/// </summary>
public sealed class VolumeUpload : IAsyncDisposable
{
    /// <summary>Raw layers being encoded at once; adding another waits for the oldest.</summary>
    public const int MaxLayersEncoding = 2;

    private readonly ImageVolume _volume;
    private readonly Box _box;
    private readonly List<Box> _layers;
    private readonly Queue<Task> _encoding = new();
    // One array per layer, a slot per block (a ConcurrentBag would keep its items reachable from the threads that added
    // them until its finalizer ran: whole requests' worth of encoded blocks).
    private List<Encoded[]> _encoded = new();
    private Box? _received;
    private int _next;

    internal VolumeUpload(ImageVolume volume, Box box)
    {
        _volume = volume;
        _box = box;
        _layers = box.ZLayers(volume.BlockSize).ToList();
    }

    /// <summary>The layers to add, in order: each spans the box in x and y and one block (or less, at the edges) in z.</summary>
    public IReadOnlyList<Box> Layers => _layers;

    /// <summary>Raw bytes of the layers added since the last commit.</summary>
    public long PendingBytes { get; private set; }

    /// <summary>
    /// Adds the next layer's packed voxels. The upload owns <paramref name="voxels"/> from here on and gives it to
    /// <paramref name="release"/> once its blocks are encoded (buffers can come from a pool).
    /// </summary>
    public async ValueTask AddLayerAsync(byte[] voxels, Action<byte[]> release, CancellationToken ct)
    {
        if (_next >= _layers.Count) throw new InvalidOperationException("every layer of the upload was added already");
        var layer = _layers[_next++];
        if (voxels.Length < layer.VoxelCount * _volume.BytesPerVoxel) throw new ArgumentException("the layer's voxels are short", nameof(voxels));
        while (_encoding.Count >= MaxLayersEncoding) await _encoding.Dequeue();
        PendingBytes += layer.VoxelCount * _volume.BytesPerVoxel;
        _received = _received is { } r ? new Box(r.Offset, r.Size with { Z = r.Size.Z + layer.Size.Z }) : layer;
        var blocks = _volume.BlocksOf(layer);
        var results = new Encoded[blocks.Count];
        _encoded.Add(results);
        _encoding.Enqueue(Task.Run(async () =>
        {
            try { await EncodeLayerAsync(layer, voxels, blocks, results, ct); }
            finally { release(voxels); }
        }, ct));
    }

    /// <summary>A block of the upload: encoded when wholly covered, else the part covered and its voxels.</summary>
    private readonly record struct Encoded(Point3 Block, byte[]? Whole, Box Part, byte[]? PartVoxels);

    private Task EncodeLayerAsync(Box layer, byte[] voxels, List<Point3> blocks, Encoded[] results, CancellationToken ct)
    {
        var bs = _volume.BlockSize;
        int bpv = _volume.BytesPerVoxel;
        return Parallel.ForAsync(0, blocks.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, (i, _) =>
        {
            var block = blocks[i];
            var blockBox = new Box(block.BlockOrigin(bs), bs);
            var part = blockBox.Intersect(layer)!.Value;
            if (part == blockBox)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(_volume.BlockBytes);
                try
                {
                    ImageVolume.Copy(voxels, layer, buffer, blockBox, part, bpv);
                    results[i] = new Encoded(block, _volume.Codec.Encode(buffer.AsSpan(0, _volume.BlockBytes)), part, null);
                }
                finally { ArrayPool<byte>.Shared.Return(buffer); }
            }
            else
            {
                var bytes = GC.AllocateUninitializedArray<byte>(checked((int)(part.VoxelCount * bpv)));
                ImageVolume.Copy(voxels, layer, bytes, part, part, bpv);
                results[i] = new Encoded(block, null, part, bytes);
            }
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>Stores every layer added since the last commit, atomically (nothing when none was added).</summary>
    public async Task CommitAsync(CancellationToken ct)
    {
        while (_encoding.Count > 0) await _encoding.Dequeue();
        if (_received is not { } received) return;
        var all = _encoded.SelectMany(layer => layer).ToList();
        await _volume.WriteEncodedAsync(received, all.Where(e => e.Whole is not null).Select(e => (e.Block, e.Whole!)).ToList(),
            all.Where(e => e.Whole is null).Select(e => (e.Block, e.Part, e.PartVoxels!)).ToList(), ct);
        (_encoded, _received, PendingBytes) = (new(), null, 0);
    }

    /// <summary>Waits for encoding still running (an abandoned upload stores nothing).</summary>
    public async ValueTask DisposeAsync()
    {
        while (_encoding.Count > 0)
        {
            try { await _encoding.Dequeue(); }
            catch (Exception) { /* the upload is abandoned; its caller saw the failure */ }
        }
    }
}
