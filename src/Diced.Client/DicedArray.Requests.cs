namespace Diced.Client;

/// <summary>The HTTP side of <see cref="DicedArray"/>: raw requests by DVID box, split into chunk-aligned slabs.</summary>
public sealed partial class DicedArray
{
    /// <summary>Largest single HTTP request (bytes of elements); bigger reads and writes are split.</summary>
    public const long MaxRequestBytes = 64L << 20;
    private const int Parallelism = 4;

    /// <summary>
    /// Writes packed elements (x fastest, little-endian) of a box given in DVID order (x, y, z): the bulk path used by
    /// ingest tools. Split into chunk-aligned requests sent several at a time like every other write.
    /// </summary>
    public Task WriteRawAsync((int X, int Y, int Z) offset, (int X, int Y, int Z) size, ReadOnlyMemory<byte> packed, CancellationToken ct = default)
        => WriteRawAsync(Dvid3(offset, size).Offset, Dvid3(offset, size).Size, packed, ct);

    /// <summary>Reads packed elements (x fastest) of a box given in DVID order (x, y, z).</summary>
    public Task<byte[]> ReadRawAsync((int X, int Y, int Z) offset, (int X, int Y, int Z) size, CancellationToken ct = default)
        => ReadRawAsync(Dvid3(offset, size).Offset, Dvid3(offset, size).Size, ct);

    /// <summary>Writes packed elements of a box given per DVID axis (dimension 0, the fastest, first), one entry per dimension.</summary>
    public async Task WriteRawAsync(int[] offset, int[] size, ReadOnlyMemory<byte> packed, CancellationToken ct = default)
    {
        if (Locked) throw new DicedException($"cannot write \"{Name}\": version {Version} is locked; branch from it to write");
        var (o, s) = IndexOrder(offset, size);
        long expected = s.Aggregate(1L, (a, b) => a * b) * BytesPerElement;
        if (packed.Length != expected) throw new DicedException($"{string.Join("x", size)} {Dtype} elements are {expected} bytes, got {packed.Length}");
        await PostSlabsAsync(o, s, (at, n) => new ReadOnlyMemoryContent(packed.Slice((int)at, n)), ct);
    }

    /// <summary>Reads packed elements of a box given per DVID axis (dimension 0, the fastest, first).</summary>
    public async Task<byte[]> ReadRawAsync(int[] offset, int[] size, CancellationToken ct = default)
    {
        var (o, s) = IndexOrder(offset, size);
        long bytes = s.Aggregate(1L, (a, b) => a * b) * BytesPerElement;
        if (bytes > Array.MaxLength) throw new DicedException($"a region of {bytes} bytes is too large for one read; read it in parts");
        var result = GC.AllocateUninitializedArray<byte>((int)bytes);
        await GetSlabsAsync(o, s, (at, data) => data.CopyTo(result.AsSpan((int)at)), ct);
        return result;
    }

    /// <summary>A 3-D DVID box cut to this array's rank; the dropped axes must be one element at 0.</summary>
    private (int[] Offset, int[] Size) Dvid3((int X, int Y, int Z) offset, (int X, int Y, int Z) size)
    {
        int[] o = [offset.X, offset.Y, offset.Z], s = [size.X, size.Y, size.Z];
        for (int d = NumDims; d < 3; d++)
            if (s[d] != 1 || o[d] != 0)
                throw new DicedException($"array \"{Name}\" has {NumDims} dimensions; the box {size.X}x{size.Y}x{size.Z} at {offset.X},{offset.Y},{offset.Z} has more");
        return NumDims >= 3 ? (o, s) : (o[..NumDims], s[..NumDims]);
    }

    /// <summary>A DVID-order box as index-order offset and size, checked against the rank.</summary>
    private (int[] Offset, int[] Size) IndexOrder(int[] offset, int[] size)
    {
        if (offset.Length != NumDims || size.Length != NumDims)
            throw new DicedException($"array \"{Name}\" has {NumDims} dimensions; the box has {size.Length} sizes and {offset.Length} offsets");
        if (size.Any(n => n <= 0)) throw new DicedException($"size {string.Join("x", size)} must be positive");
        return (offset.Reverse().ToArray(), size.Reverse().ToArray());
    }

    /// <summary>The raw route of an index-order box: every axis of an ndarray, x, y, z of a volume (the missing ones at 0).</summary>
    private string RawPath(int[] offset, int[] size)
    {
        int n = IsNd ? NumDims : 3;
        var o = Enumerable.Range(0, n).Select(d => d < NumDims ? offset[NumDims - 1 - d] : 0);
        var s = Enumerable.Range(0, n).Select(d => d < NumDims ? size[NumDims - 1 - d] : 1);
        return $"/api/node/{Version}/{Name}/raw/{string.Join("_", Enumerable.Range(0, n))}/{string.Join("_", s)}/{string.Join("_", o)}";
    }

    private long BytesOf(int[] size) => size.Aggregate(1L, (a, b) => a * b) * BytesPerElement;

    /// <summary>GETs a box slab by slab; <paramref name="place"/> gets each slab's bytes and its offset in the packed box.</summary>
    private Task GetSlabsAsync(int[] offset, int[] size, Action<long, byte[]> place, CancellationToken ct)
        => ForEachSlabAsync(offset, size, async (o, s, at, token) =>
        {
            var data = await _repo.Connection.GetBytesAsync(RawPath(o, s), token);
            if (data.Length != BytesOf(s)) throw new DicedException($"server sent {data.Length} bytes for {string.Join("x", s)} elements");
            place(at, data);
        }, ct);

    /// <summary>POSTs a box slab by slab; <paramref name="body"/> makes each slab's content from its offset and length.</summary>
    private Task PostSlabsAsync(int[] offset, int[] size, Func<long, int, HttpContent> body, CancellationToken ct)
        => ForEachSlabAsync(offset, size, async (o, s, at, token) =>
        {
            using var content = body(at, checked((int)BytesOf(s)));
            using var _ = await _repo.Connection.SendAsync(HttpMethod.Post, RawPath(o, s), content, ct: token);
        }, ct);

    /// <summary>Splits an index-order box into chunk-aligned slabs of at most <see cref="MaxRequestBytes"/> that are
    /// each a contiguous part of the packed box, run a few at a time; <c>at</c> is each slab's byte offset in it.</summary>
    private async Task ForEachSlabAsync(int[] offset, int[] size, Func<int[], int[], long, CancellationToken, Task> slab, CancellationToken ct)
    {
        var cuts = new List<(int[] Offset, int[] Size, long At)>();
        Cut(offset, size, 0, cuts);
        await Parallel.ForEachAsync(cuts, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            async (cut, token) => await slab(cut.Offset, cut.Size, cut.At, token));
    }

    /// <summary>
    /// Cuts along the slowest axis with more than one element (every axis before it is one element thick, so each
    /// part is contiguous), at chunk boundaries where a chunk's worth fits a request; when a single index of that axis
    /// is still too large, each index is cut the same way along the next axis.
    /// </summary>
    private void Cut(int[] offset, int[] size, long at, List<(int[], int[], long)> into)
    {
        int axis = Array.FindIndex(size, n => n > 1) is var a && a >= 0 ? a : NumDims - 1;
        long perUnit = BytesOf(size) / size[axis];
        int start = offset[axis], length = size[axis];
        if (perUnit > MaxRequestBytes && axis < NumDims - 1)
        {
            for (int i = 0; i < length; i++)
            {
                var (o, s) = ((int[])offset.Clone(), (int[])size.Clone());
                o[axis] = start + i;
                s[axis] = 1;
                Cut(o, s, at + i * perUnit, into);
            }
            return;
        }
        int chunk = _chunk[axis];
        int unitsPerSlab = (int)Math.Max(1, Math.Min(length, MaxRequestBytes / perUnit));
        if (unitsPerSlab >= chunk) unitsPerSlab -= unitsPerSlab % chunk;
        for (int from = start; from < start + length;)
        {
            int next = Math.Min(start + length, from + unitsPerSlab);
            // Keep cuts on chunk boundaries so that no chunk is written by two requests.
            if (next < start + length && unitsPerSlab >= chunk) next -= ((next % chunk) + chunk) % chunk;
            if (next <= from) next = Math.Min(start + length, from + unitsPerSlab);
            var (o, s) = ((int[])offset.Clone(), (int[])size.Clone());
            o[axis] = from;
            s[axis] = next - from;
            into.Add((o, s, at + (from - start) * perUnit));
            from = next;
        }
    }
}
