using System.Buffers;
using System.Buffers.Binary;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore.Types.NdArray;

/// <summary>Receives an n-D read one slab at a time: the part of the box it covers and its packed elements, valid until
/// the returned task completes.</summary>
public delegate ValueTask NdSlabSink(NdBox slab, ReadOnlyMemory<byte> voxels, CancellationToken ct);

/// <summary>
/// An n-D chunked array at one version. Chunks are keyed by their coordinates from the slowest dimension to the
/// fastest, so the chunks of one row along dimension 0 are adjacent keys. Reads stream slabs (contiguous runs of the
/// packed result, a layer of chunks each); writes and extents are in <c>NdArray.Writes.cs</c>.
/// </summary>
public sealed partial class NdArray
{
    public const byte ChunkClass = 50, ExtentsClass = 51;

    /// <summary>Largest slab a read builds at once (a layer of chunks bigger than this is cut into index groups).</summary>
    public const long SlabBytes = 32L << 20;

    /// <summary>Coordinates lie in [-2^30, 2^30): room for a chunk past either end.</summary>
    public const int CoordinateLimit = 1 << 30;

    /// <summary>Most chunks one write may touch, and most bytes of chunks (its transaction holds each one encoded).</summary>
    public const long MaxChunksPerWrite = 1 << 16, MaxChunkBytesPerWrite = 1L << 30;

    private readonly VersionedData _data;
    private readonly VolumeCoordination _coord;
    private readonly IBlockCodec _codec;

    public NdArray(VersionedData data, VolumeCoordination coord)
    {
        _data = data;
        _coord = coord;
        Settings = NdSettings.From(data.Instance);
        _codec = new BlockCodec(CompressionSpec.Parse(data.Instance.Compression), new Point3(1, 1, 1), data.Instance.Checksum);
    }

    private NdArray(NdArray other, VersionedData data)
    {
        _data = data;
        _coord = other._coord;
        Settings = other.Settings;
        _codec = other._codec;
    }

    public NdSettings Settings { get; }
    public int Rank => Settings.Rank;
    public int BytesPerVoxel => Settings.BytesPerVoxel;
    public int[] ChunkShape => Settings.ChunkShape;
    private int ChunkBytes => (int)(Settings.ChunkVoxels * BytesPerVoxel);

    public byte[] KeyOf(ReadOnlySpan<int> chunk)
    {
        var k = new byte[1 + 4 * chunk.Length];
        k[0] = ChunkClass;
        for (int d = 0; d < chunk.Length; d++)
            BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1 + 4 * (chunk.Length - 1 - d)), (uint)chunk[d] ^ 0x80000000u);
        return k;
    }

    private int[] ChunkOfKey(ReadOnlySpan<byte> tkey)
    {
        var c = new int[Rank];
        for (int d = 0; d < Rank; d++) c[d] = (int)(BinaryPrimitives.ReadUInt32BigEndian(tkey[(1 + 4 * (Rank - 1 - d))..]) ^ 0x80000000u);
        return c;
    }

    /// <summary>Refuses boxes of the wrong rank, outside the array's shape, or beyond the coordinate limit.</summary>
    public void CheckBox(NdBox box)
    {
        if (box.Rank != Rank) throw DatastoreException.BadRequest($"data \"{_data.Instance.Name}\" has {Rank} dimensions; the request has {box.Rank}");
        for (int d = 0; d < Rank; d++)
        {
            if (Settings.Shape is { } shape && (box.OffsetOf(d) < 0 || box.EndOf(d) > shape[d]))
                throw DatastoreException.BadRequest($"{box} lies outside the shape {string.Join(",", shape)} of \"{_data.Instance.Name}\" along dimension {d} ({Settings.AxisNames[d]})");
            if (box.OffsetOf(d) < -CoordinateLimit || box.EndOf(d) > CoordinateLimit)
                throw DatastoreException.BadRequest($"coordinates must lie in [-{CoordinateLimit}, {CoordinateLimit}); {box} does not");
        }
    }

    /// <summary>The bytes of <paramref name="box"/>'s elements; a 400 when that does not fit a long.</summary>
    public long BytesOf(NdBox box)
    {
        try { return checked(box.VoxelCount * BytesPerVoxel); }
        catch (OverflowException) { throw DatastoreException.BadRequest($"{box} holds more elements than any request may"); }
    }

    // ---------------------------------------------------------------- reads

    /// <summary>
    /// Reads <paramref name="box"/> as packed elements (dimension 0 fastest), handing it to <paramref name="sink"/> a
    /// slab at a time while the next slab is built. Unwritten elements read as zeros; where the store has snapshots the
    /// whole read sees one committed state.
    /// </summary>
    public async Task ReadAsync(NdBox box, NdSlabSink sink, CancellationToken ct = default)
    {
        CheckBox(box);
        using var snapshot = _data.IsSnapshot ? null : _data.Store.OpenSnapshot();
        var reader = snapshot is null ? this : new NdArray(this, _data.ReadingFrom(snapshot));
        Task pending = Task.CompletedTask;
        byte[]? sent = null;
        try
        {
            foreach (var slab in box.Slabs(ChunkShape, BytesPerVoxel, SlabBytes))
            {
                int bytes = checked((int)BytesOf(slab));
                var buffer = ArrayPool<byte>.Shared.Rent(bytes);
                try { await reader.FillAsync(slab, buffer.AsMemory(0, bytes), ct); }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw;
                }
                await pending;
                if (sent is not null) ArrayPool<byte>.Shared.Return(sent);
                sent = buffer;
                pending = sink(slab, buffer.AsMemory(0, bytes), ct).AsTask();
            }
            await pending;
        }
        finally
        {
            if (sent is not null && pending.IsCompleted) ArrayPool<byte>.Shared.Return(sent);
        }
    }

    /// <summary>Reads <paramref name="box"/> into one buffer (small requests).</summary>
    public async Task<byte[]> ReadAllAsync(NdBox box, CancellationToken ct = default)
    {
        long bytes = BytesOf(box);
        if (bytes > Array.MaxLength) throw DatastoreException.BadRequest($"{bytes} bytes is too large for one buffer");
        var result = GC.AllocateUninitializedArray<byte>((int)bytes);
        long at = 0;
        await ReadAsync(box, (_, m, _) =>
        {
            m.Span.CopyTo(result.AsSpan((int)at));
            at += m.Length;
            return ValueTask.CompletedTask;
        }, ct);
        return result;
    }

    private sealed record Fill(NdArray Array, NdBox Slab, Memory<byte> Dest, int[] First, int[] Last, bool[] Present);

    /// <summary>
    /// Fills <paramref name="dest"/> with the elements of <paramref name="slab"/>: each stored chunk is decoded into a
    /// pooled buffer and its part copied in; chunks not stored read as zeros. Rows of chunks along dimension 0 are
    /// read in parallel: one per core on local stores, many in flight on remote ones.
    /// </summary>
    private async Task FillAsync(NdBox slab, Memory<byte> dest, CancellationToken ct)
    {
        var (first, last) = slab.ChunkRange(ChunkShape);
        var fill = new Fill(this, slab, dest, first, last, new bool[slab.ChunkCount(ChunkShape)]);
        byte[] RowEnd(int[] row)
        {
            var end = (int[])row.Clone();
            end[0] = last[0] + 1;
            return KeyOf(end);
        }
        // One scan per row of chunks along dimension 0 (a scan of the slab's whole key range would also read the
        // chunks beside the slab in the dimensions between): a row per core locally, many rows in flight remotely.
        var rows = RowStarts(first, last);
        int parallel = _data.Store.ReadParallelism > 1 ? _data.Store.ReadParallelism : Environment.ProcessorCount;
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(rows.Count, parallel), CancellationToken = ct },
            async (row, token) => await _data.ReadVisibleAsync(KeyOf(row), RowEnd(row), fill, DecodeInto, token));
        int i = 0;
        foreach (var chunk in slab.Chunks(ChunkShape))
        {
            if (!fill.Present[i++]) NdBox.Zero(dest.Span, slab, NdBox.OfChunk(chunk, ChunkShape).Intersect(slab)!, BytesPerVoxel);
        }
    }

    /// <summary>The first chunk of every row along dimension 0 between <paramref name="first"/> and <paramref name="last"/>.</summary>
    private static List<int[]> RowStarts(int[] first, int[] last)
    {
        var rowLast = (int[])last.Clone();
        rowLast[0] = first[0];
        return NdBox.Points(first, rowLast).ToList();
    }

    /// <summary>Decodes one stored chunk into the slab (runs concurrently for different chunks).</summary>
    private static void DecodeInto(ReadOnlySpan<byte> stored, (byte[] TKey, Fill State) s)
    {
        var f = s.State;
        var arr = f.Array;
        var chunk = arr.ChunkOfKey(s.TKey);
        long index = 0, stride = 1;
        for (int d = 0; d < chunk.Length; d++)
        {
            if (chunk[d] < f.First[d] || chunk[d] > f.Last[d]) return; // a listing also passes chunks beside the slab
            index += (chunk[d] - f.First[d]) * stride;
            stride *= f.Last[d] - f.First[d] + 1;
        }
        var chunkBox = NdBox.OfChunk(chunk, arr.ChunkShape);
        var buffer = ArrayPool<byte>.Shared.Rent(arr.ChunkBytes);
        try
        {
            arr._codec.Decode(stored, buffer.AsSpan(0, arr.ChunkBytes));
            NdBox.Copy(buffer, chunkBox, f.Dest.Span, f.Slab, chunkBox.Intersect(f.Slab)!, arr.BytesPerVoxel);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
        f.Present[index] = true;
    }
}
