using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Numerics;
using Diced.Client;

namespace Diced.Cli;

/// <summary>
/// zarr v3 shards (<c>sharding_indexed</c>): each stored object holds a grid of inner chunks, and an index of
/// (offset, length) little-endian uint64 pairs, one per inner chunk in C order (both 2^64-1 for a chunk never
/// written), at the object's end or start, followed by its CRC32C when the index codecs say so. Only the index and
/// the inner chunks asked for are read from disk; the indices of the last shards read are kept (16 bytes per inner chunk).
/// </summary>
internal sealed class ZarrShards(int[] perShard, bool indexAtEnd, bool indexCrc)
{
    private const int MaxIndices = 1024;
    private readonly ConcurrentDictionary<string, ulong[]?> _indices = new();
    private readonly int _count = perShard.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>The stored bytes of inner chunk <paramref name="inner"/> (C-order index over the whole array) and the
    /// shard it is in, or null bytes when the shard or the chunk is absent.</summary>
    public (string Path, byte[]? Stored) Read(int[] inner, Func<int[], string> pathOf)
    {
        var shard = inner.Select((c, d) => c / perShard[d]).ToArray();
        var path = pathOf(shard);
        if (_indices.Count > MaxIndices) _indices.Clear(); // ingest reads shards in order; old indices are not needed again
        var index = _indices.GetOrAdd(path, ReadIndex);
        if (index is null) return (path, null);
        int linear = 0;
        for (int d = 0; d < inner.Length; d++) linear = linear * perShard[d] + inner[d] % perShard[d];
        ulong offset = index[2 * linear], length = index[2 * linear + 1];
        if (offset == ulong.MaxValue && length == ulong.MaxValue) return (path, null);
        using var file = File.OpenHandle(path);
        ulong size = (ulong)RandomAccess.GetLength(file);
        if (length > int.MaxValue || offset > size || length > size - offset)
            throw new DicedException($"shard {path} names chunk bytes {offset}+{length} beyond its end");
        var stored = new byte[length];
        RandomAccess.Read(file, stored, (long)offset);
        return (path, stored);
    }

    private ulong[]? ReadIndex(string path)
    {
        if (!File.Exists(path)) return null;
        using var file = File.OpenHandle(path);
        long size = 16L * _count + (indexCrc ? 4 : 0), total = RandomAccess.GetLength(file);
        if (total < size) throw new DicedException($"shard {path} is {total} bytes, shorter than its index of {size}");
        var bytes = new byte[size];
        RandomAccess.Read(file, bytes, indexAtEnd ? total - size : 0);
        if (indexCrc)
        {
            uint crc = ~Crc32C(bytes.AsSpan(0, 16 * _count));
            if (crc != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16 * _count)))
                throw new DicedException($"shard {path}: the index's CRC32C does not match (a damaged or truncated shard)");
        }
        var index = new ulong[2 * _count];
        for (int i = 0; i < index.Length; i++) index[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8 * i));
        return index;
    }

    /// <summary>CRC32C (Castagnoli) before its final inversion, as zarr's <c>crc32c</c> codec computes it.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
