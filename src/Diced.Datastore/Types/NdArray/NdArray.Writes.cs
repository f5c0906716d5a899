using System.Buffers;
using System.Text.Json;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.NdArray;

/// <summary>Chunk-aligned extents of what is written at or above a version: inclusive bounds per dimension.</summary>
public sealed record NdExtents(int[] MinPoint, int[] MaxPoint);

public sealed partial class NdArray
{
    private const string ExtentsRecord = "extents";
    private static byte[] ExtentsKey => [ExtentsClass];

    /// <summary>
    /// Writes packed elements covering <paramref name="box"/> at any alignment: every chunk and the extents in one
    /// atomic commit under the chunks' locks. Chunks wholly inside are replaced; partly covered ones keep their other
    /// elements (read-modify-write), so concurrent writers never lose each other's elements.
    /// </summary>
    public Task WriteAsync(NdBox box, ReadOnlyMemory<byte> voxels, CancellationToken ct = default)
    {
        CheckBox(box);
        long expected = BytesOf(box);
        if (voxels.Length != expected)
            throw DatastoreException.BadRequest($"data was {voxels.Length} bytes, expected {expected} bytes for {box}");
        long touched = box.ChunkCount(ChunkShape);
        if (touched > MaxChunksPerWrite || touched * ChunkBytes > MaxChunkBytesPerWrite)
            throw DatastoreException.BadRequest($"the write touches {touched} chunks of {ChunkBytes} bytes; a write may touch at most {MaxChunksPerWrite} chunks and {MaxChunkBytesPerWrite >> 20} MiB of them: send smaller, chunk-aligned parts");
        var chunks = box.Chunks(ChunkShape).ToList();
        return _data.WriteAsync(async tx =>
        {
            tx.Hold(await _coord.LockBlocksAsync(_data.Instance.InstanceId, _data.WriteVersion, ChunkClass, chunks.Select(LockPoint), ct));
            await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (chunk, token) =>
            {
                var chunkBox = NdBox.OfChunk(chunk, ChunkShape);
                var part = chunkBox.Intersect(box)!;
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
                try
                {
                    if (!part.Equals(chunkBox))
                    {
                        if (await tx.GetAsync(KeyOf(chunk), token) is { } stored) _codec.Decode(stored, buffer.AsSpan(0, ChunkBytes));
                        else buffer.AsSpan(0, ChunkBytes).Clear();
                    }
                    NdBox.Copy(voxels.Span, box, buffer.AsSpan(0, ChunkBytes), chunkBox, part, BytesPerVoxel);
                    tx.Put(KeyOf(chunk), _codec.Encode(buffer.AsSpan(0, ChunkBytes)));
                }
                finally { ArrayPool<byte>.Shared.Return(buffer); }
            });
            await GrowExtentsAsync(tx, box, ct);
            return 0;
        }, ct);
    }

    /// <summary>The lock stripe key of a chunk (stripes may be shared; they are taken in one order).</summary>
    private static Point3 LockPoint(int[] chunk)
    {
        int rest = 0;
        for (int d = 2; d < chunk.Length; d++) rest = rest * 1_000_003 + chunk[d];
        return new Point3(chunk[0], chunk.Length > 1 ? chunk[1] : 0, rest);
    }

    // ---------------------------------------------------------------- extents

    /// <summary>The extents visible at this version, or null before any write.</summary>
    public async ValueTask<NdExtents?> GetExtentsAsync(CancellationToken ct = default)
        => await _data.GetAsync(ExtentsKey, ct) is { } stored ? ParseExtents(stored) : null;

    /// <summary>Grows the extents to cover <paramref name="written"/>'s chunks, in the transaction (under their lock
    /// only when they must grow).</summary>
    private async Task GrowExtentsAsync(Transaction tx, NdBox written, CancellationToken ct)
    {
        var (first, last) = written.ChunkRange(ChunkShape);
        var lo = first.Select((c, d) => c * ChunkShape[d]).ToArray();
        var hi = last.Select((c, d) => (c + 1) * ChunkShape[d] - 1).ToArray();
        if (await tx.PeekAsync(ExtentsKey, ct) is { } seen && Covers(ParseExtents(seen), lo, hi)) return;
        tx.Hold(await _coord.LockRecordAsync(_data.Instance.InstanceId, _data.WriteVersion, ExtentsRecord, ct));
        var current = await tx.GetAsync(ExtentsKey, ct) is { } stored ? ParseExtents(stored) : null;
        if (current is not null && Covers(current, lo, hi)) return;
        var next = current is null ? new NdExtents(lo, hi)
            : new NdExtents(lo.Select((v, d) => Math.Min(v, current.MinPoint[d])).ToArray(), hi.Select((v, d) => Math.Max(v, current.MaxPoint[d])).ToArray());
        tx.Put(ExtentsKey, JsonSerializer.SerializeToUtf8Bytes(new { next.MinPoint, next.MaxPoint }));
    }

    private static bool Covers(NdExtents e, int[] lo, int[] hi)
    {
        for (int d = 0; d < lo.Length; d++)
            if (lo[d] < e.MinPoint[d] || hi[d] > e.MaxPoint[d]) return false;
        return true;
    }

    private static NdExtents ParseExtents(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        int[] P(string name) => doc.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return new NdExtents(P("MinPoint"), P("MaxPoint"));
    }
}
