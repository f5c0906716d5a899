using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Diced.Client;

/// <summary>
/// A 1-, 2- or 3-D array in a repo version, indexed like numpy: <c>[z, y, x]</c> for 3-D, <c>[y, x]</c> for 2-D,
/// <c>[x]</c> for 1-D, with C# ranges (<c>arr[0..1, 0..1, 0..5] = data; var v = arr[0, 0, 0];</c>). Unwritten voxels read
/// as zeros. Open ends (<c>..</c>, <c>^1</c>) count from the end of the written extent. Large requests are split into
/// block-aligned requests of bounded size, sent several at a time.
/// </summary>
public sealed class DicedArray
{
    /// <summary>Largest single HTTP request (bytes of voxels); bigger reads and writes are split.</summary>
    public const long MaxRequestBytes = 64L << 20;
    private const int Parallelism = 4;

    private readonly DicedRepo _repo;

    internal DicedArray(DicedRepo repo, string name, ArrayDtype dtype, int dims, bool isLabel, bool lossy, (int X, int Y, int Z) blockSize)
    {
        _repo = repo;
        Name = name;
        Dtype = dtype;
        NumDims = dims;
        IsLabel = isLabel;
        IsLossy = lossy;
        BlockSize = blockSize;
        Version = repo.Uuid;
        Locked = repo.Locked;
    }

    public string Name { get; }
    public ArrayDtype Dtype { get; }
    public int NumDims { get; }
    public bool IsLabel { get; }
    public bool IsLossy { get; }
    public (int X, int Y, int Z) BlockSize { get; }

    /// <summary>The version this array object reads and writes.</summary>
    public string Version { get; }

    public bool Locked { get; }

    public int BytesPerElement => Dtype switch { ArrayDtype.Uint8 => 1, ArrayDtype.Uint16 => 2, ArrayDtype.Uint32 => 4, _ => 8 };

    private Type ElementType => Dtype switch { ArrayDtype.Uint8 => typeof(byte), ArrayDtype.Uint16 => typeof(ushort), ArrayDtype.Uint32 => typeof(uint), _ => typeof(ulong) };

    // ------------------------------------------------------------------ extents

    /// <summary>The written extent as [start, stop) per index axis (z, y, x order), or null before any write.</summary>
    public async Task<(int[] Start, int[] Stop)?> ExtentsAsync(CancellationToken ct = default)
    {
        using var doc = await _repo.Connection.GetJsonAsync($"/api/node/{Version}/{Name}/info", ct);
        var e = doc.RootElement.GetProperty("Extended");
        if (e.GetProperty("MinPoint").ValueKind != JsonValueKind.Array) return null;
        var min = e.GetProperty("MinPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var max = e.GetProperty("MaxPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        // DVID points are x, y, z; indices run the other way.
        var start = Enumerable.Range(0, NumDims).Select(i => Math.Max(0, min[NumDims - 1 - i])).ToArray();
        var stop = Enumerable.Range(0, NumDims).Select(i => max[NumDims - 1 - i] + 1).ToArray();
        return (start, stop);
    }

    // ------------------------------------------------------------------ indexers

    public Array this[Range z, Range y, Range x]
    {
        get => ReadAsync([z, y, x]).GetAwaiter().GetResult();
        set => WriteAsync([z, y, x], value).GetAwaiter().GetResult();
    }

    public Array this[Range y, Range x]
    {
        get => ReadAsync([y, x]).GetAwaiter().GetResult();
        set => WriteAsync([y, x], value).GetAwaiter().GetResult();
    }

    public Array this[Range x]
    {
        get => ReadAsync([x]).GetAwaiter().GetResult();
        set => WriteAsync([x], value).GetAwaiter().GetResult();
    }

    /// <summary>One element (any element type, widened to ulong).</summary>
    public ulong this[int z, int y, int x]
    {
        get => Element(this[z..(z + 1), y..(y + 1), x..(x + 1)]);
        set => this[z..(z + 1), y..(y + 1), x..(x + 1)] = Single(value, 3);
    }

    public ulong this[int y, int x]
    {
        get => Element(this[y..(y + 1), x..(x + 1)]);
        set => this[y..(y + 1), x..(x + 1)] = Single(value, 2);
    }

    public ulong this[int x]
    {
        get => Element(this[x..(x + 1)]);
        set => this[x..(x + 1)] = Single(value, 1);
    }

    private static ulong Element(Array a) => a.Length == 1 ? Convert.ToUInt64(a.GetValue(new int[a.Rank])) : throw new DicedException("expected one element");

    private Array Single(ulong value, int rank)
    {
        var a = Array.CreateInstance(ElementType, Enumerable.Repeat(1, rank).ToArray());
        a.SetValue(Convert.ChangeType(value, ElementType), new int[rank]);
        return a;
    }

    // ------------------------------------------------------------------ reads and writes

    /// <summary>Reads a region (one range per index axis) into a new array of the element type (byte[,,], ushort[,], …).</summary>
    public async Task<Array> ReadAsync(Range[] ranges, CancellationToken ct = default)
    {
        var (offset, size) = await ResolveAsync(ranges, null, ct);
        var result = Array.CreateInstance(ElementType, size);
        if (result.Length == 0) return result;
        var (boxOffset, boxSize) = ToBox(offset, size);
        await GetSlabsAsync(boxOffset, boxSize, (at, data) => data.CopyTo(Bytes(result).Slice((int)at, data.Length)), ct); // slabs fill disjoint parts
        return result;
    }

    public async Task<T[,,]> ReadAsync<T>(Range z, Range y, Range x, CancellationToken ct = default) where T : unmanaged
        => Typed<T[,,]>(await ReadAsync([z, y, x], ct));

    public async Task<T[,]> ReadAsync<T>(Range y, Range x, CancellationToken ct = default) where T : unmanaged
        => Typed<T[,]>(await ReadAsync([y, x], ct));

    public async Task<T[]> ReadAsync<T>(Range x, CancellationToken ct = default) where T : unmanaged
        => Typed<T[]>(await ReadAsync([x], ct));

    private TArray Typed<TArray>(Array a) where TArray : class
        => a as TArray ?? throw new DicedException($"array \"{Name}\" holds {Dtype}; read it as {ElementType.Name}");

    /// <summary>Writes <paramref name="data"/> (same element type and rank as the array) at a region; an open range
    /// end takes its length from the data.</summary>
    public async Task WriteAsync(Range[] ranges, Array data, CancellationToken ct = default)
    {
        if (Locked) throw new DicedException($"cannot write \"{Name}\": version {Version} is locked; branch from it to write");
        if (data.GetType().GetElementType() != ElementType)
            throw new DicedException($"array \"{Name}\" holds {Dtype}; got {data.GetType().GetElementType()?.Name} data");
        if (data.Rank != NumDims) throw new DicedException($"array \"{Name}\" has {NumDims} dimensions; the data has {data.Rank}");
        var shape = Enumerable.Range(0, data.Rank).Select(data.GetLength).ToArray();
        var (offset, size) = await ResolveAsync(ranges, shape, ct);
        if (!size.SequenceEqual(shape))
            throw new DicedException($"the region is {string.Join("x", size)} but the data is {string.Join("x", shape)}");
        if (data.Length == 0) return;
        var (boxOffset, boxSize) = ToBox(offset, size);
        await PostSlabsAsync(boxOffset, boxSize, (at, n) => new ByteArrayContent(Bytes(data).Slice((int)at, n).ToArray()), ct);
    }

    public Task WriteAsync<T>(Range z, Range y, Range x, T[,,] data, CancellationToken ct = default) where T : unmanaged => WriteAsync([z, y, x], data, ct);

    public Task WriteAsync<T>(Range y, Range x, T[,] data, CancellationToken ct = default) where T : unmanaged => WriteAsync([y, x], data, ct);

    public Task WriteAsync<T>(Range x, T[] data, CancellationToken ct = default) where T : unmanaged => WriteAsync([x], data, ct);

    /// <summary>
    /// Writes packed elements (x fastest, little-endian) of a box given in DVID order (x, y, z): the bulk path used by
    /// ingest tools. Split into block-aligned requests sent several at a time like every other write.
    /// </summary>
    public async Task WriteRawAsync((int X, int Y, int Z) offset, (int X, int Y, int Z) size, ReadOnlyMemory<byte> packed, CancellationToken ct = default)
    {
        if (Locked) throw new DicedException($"cannot write \"{Name}\": version {Version} is locked; branch from it to write");
        CheckBox(offset, size);
        long expected = (long)size.X * size.Y * size.Z * BytesPerElement;
        if (packed.Length != expected) throw new DicedException($"{size.X}x{size.Y}x{size.Z} {Dtype} elements are {expected} bytes, got {packed.Length}");
        await PostSlabsAsync(new Point(offset.X, offset.Y, offset.Z), new Point(size.X, size.Y, size.Z),
            (at, n) => new ReadOnlyMemoryContent(packed.Slice((int)at, n)), ct);
    }

    /// <summary>Reads packed elements (x fastest) of a box given in DVID order (x, y, z).</summary>
    public async Task<byte[]> ReadRawAsync((int X, int Y, int Z) offset, (int X, int Y, int Z) size, CancellationToken ct = default)
    {
        CheckBox(offset, size);
        long bytes = (long)size.X * size.Y * size.Z * BytesPerElement;
        if (bytes > Array.MaxLength) throw new DicedException($"a region of {bytes} bytes is too large for one read; read it in parts");
        var result = GC.AllocateUninitializedArray<byte>((int)bytes);
        await GetSlabsAsync(new Point(offset.X, offset.Y, offset.Z), new Point(size.X, size.Y, size.Z), (at, data) => data.CopyTo(result.AsSpan((int)at)), ct);
        return result;
    }

    private void CheckBox((int X, int Y, int Z) offset, (int X, int Y, int Z) size)
    {
        if (size.X <= 0 || size.Y <= 0 || size.Z <= 0) throw new DicedException($"size {size.X}x{size.Y}x{size.Z} must be positive");
        if ((NumDims < 3 && (size.Z != 1 || offset.Z != 0)) || (NumDims < 2 && (size.Y != 1 || offset.Y != 0)))
            throw new DicedException($"array \"{Name}\" has {NumDims} dimensions; the box {size.X}x{size.Y}x{size.Z} at {offset.X},{offset.Y},{offset.Z} has more");
    }

    /// <summary>Offsets and sizes per index axis; open ends come from the data's shape or the written extent.</summary>
    private async Task<(int[] Offset, int[] Size)> ResolveAsync(Range[] ranges, int[]? shape, CancellationToken ct)
    {
        if (ranges.Length != NumDims) throw new DicedException($"array \"{Name}\" has {NumDims} dimensions; {ranges.Length} ranges given");
        int[]? stop = null;
        bool needExtent = ranges.Select((r, i) => r.Start.IsFromEnd || (r.End.IsFromEnd && !(shape is not null && r.End.Value == 0))).Any(b => b);
        if (needExtent) stop = (await ExtentsAsync(ct))?.Stop ?? new int[NumDims];
        var offset = new int[NumDims];
        var size = new int[NumDims];
        for (int i = 0; i < NumDims; i++)
        {
            var r = ranges[i];
            int length = stop?[i] ?? 0;
            int start = r.Start.IsFromEnd ? length - r.Start.Value : r.Start.Value;
            int end = r.End.IsFromEnd
                ? (shape is not null && r.End.Value == 0 ? start + shape[i] : length - r.End.Value)
                : r.End.Value;
            if (start < 0 || end < start) throw new DicedException($"range {r} does not fit axis {i} (written extent {length})");
            offset[i] = start;
            size[i] = end - start;
        }
        long bytes = size.Aggregate(1L, (a, b) => a * b) * BytesPerElement;
        if (bytes > Array.MaxLength) throw new DicedException($"a region of {bytes} bytes is too large for one array; read it in parts");
        return (offset, size);
    }

    /// <summary>DVID x, y, z offset and size of an index-order region.</summary>
    private (Point Offset, Point Size) ToBox(int[] offset, int[] size) => NumDims switch
    {
        3 => (new Point(offset[2], offset[1], offset[0]), new Point(size[2], size[1], size[0])),
        2 => (new Point(offset[1], offset[0], 0), new Point(size[1], size[0], 1)),
        _ => (new Point(offset[0], 0, 0), new Point(size[0], 1, 1)),
    };

    private readonly record struct Point(int X, int Y, int Z);

    private string RawPath(Point o, Point s) => $"/api/node/{Version}/{Name}/raw/0_1_2/{s.X}_{s.Y}_{s.Z}/{o.X}_{o.Y}_{o.Z}";

    /// <summary>GETs a box slab by slab; <paramref name="place"/> gets each slab's bytes and its offset in the packed box.</summary>
    private Task GetSlabsAsync(Point offset, Point size, Action<long, byte[]> place, CancellationToken ct)
        => ForEachSlabAsync(offset, size, async (o, s, at, token) =>
        {
            var data = await _repo.Connection.GetBytesAsync(RawPath(o, s), token);
            if (data.Length != (long)s.X * s.Y * s.Z * BytesPerElement) throw new DicedException($"server sent {data.Length} bytes for {s.X}x{s.Y}x{s.Z} elements");
            place(at, data);
        }, ct);

    /// <summary>POSTs a box slab by slab; <paramref name="body"/> makes each slab's content from its offset and length.</summary>
    private Task PostSlabsAsync(Point offset, Point size, Func<long, int, HttpContent> body, CancellationToken ct)
        => ForEachSlabAsync(offset, size, async (o, s, at, token) =>
        {
            using var content = body(at, checked((int)((long)s.X * s.Y * s.Z * BytesPerElement)));
            using var _ = await _repo.Connection.SendAsync(HttpMethod.Post, RawPath(o, s), content, ct: token);
        }, ct);

    /// <summary>Splits a box along its slowest axis into block-aligned slabs of at most <see cref="MaxRequestBytes"/>,
    /// run a few at a time; <c>at</c> is each slab's byte offset in the packed region.</summary>
    private async Task ForEachSlabAsync(Point offset, Point size, Func<Point, Point, long, CancellationToken, Task> slab, CancellationToken ct)
    {
        // Slabs along z (3-D), y (2-D) or x (1-D): each is a contiguous part of the packed region.
        int axis = size.Z > 1 || NumDims == 3 ? 2 : size.Y > 1 || NumDims == 2 ? 1 : 0;
        int block = axis == 2 ? BlockSize.Z : axis == 1 ? BlockSize.Y : BlockSize.X;
        long perUnit = (long)BytesPerElement * (axis == 2 ? (long)size.X * size.Y : axis == 1 ? size.X : 1);
        int start = axis == 2 ? offset.Z : axis == 1 ? offset.Y : offset.X;
        int length = axis == 2 ? size.Z : axis == 1 ? size.Y : size.X;
        int unitsPerSlab = (int)Math.Max(1, Math.Min(length, MaxRequestBytes / perUnit));
        if (unitsPerSlab >= block) unitsPerSlab -= unitsPerSlab % block;
        var cuts = new List<(int From, int Count)>();
        for (int at = start; at < start + length;)
        {
            int next = Math.Min(start + length, at + unitsPerSlab);
            // Keep cuts on block boundaries so that no block is written by two requests.
            if (next < start + length && unitsPerSlab >= block) next -= ((next % block) + block) % block;
            if (next <= at) next = Math.Min(start + length, at + unitsPerSlab);
            cuts.Add((at, next - at));
            at = next;
        }
        await Parallel.ForEachAsync(cuts, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (cut, token) =>
        {
            var o = axis == 2 ? offset with { Z = cut.From } : axis == 1 ? offset with { Y = cut.From } : offset with { X = cut.From };
            var s = axis == 2 ? size with { Z = cut.Count } : axis == 1 ? size with { Y = cut.Count } : size with { X = cut.Count };
            await slab(o, s, (cut.From - start) * perUnit, token);
        });
    }

    private static Span<byte> Bytes(Array a)
        => MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(a), checked((int)((long)a.Length * Marshal.SizeOf(a.GetType().GetElementType()!))));
}
