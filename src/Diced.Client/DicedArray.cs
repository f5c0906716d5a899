using System.Runtime.InteropServices;
using System.Text.Json;

namespace Diced.Client;

/// <summary>
/// An array of 1 to 8 dimensions in a repo version, indexed like numpy with the slowest axis first: <c>[z, y, x]</c>
/// for 3-D, <c>[t, z, y, x]</c> for a 4-D time series. Subscripts take C# ranges and indices per axis
/// (<c>arr[0..4, .., 10..20, 5]</c>; an index drops its axis from the result). Unwritten elements read as zeros. Open
/// ends (<c>..</c>, <c>^1</c>) count from the array's shape, or from the written extent when it has none. Large
/// requests are split into chunk-aligned requests of bounded size, sent several at a time. Arrays of 1 to 3
/// dimensions may be image or label volumes; arrays of any rank may be <c>ndarray</c> instances.
/// </summary>
public sealed partial class DicedArray
{
    private readonly DicedRepo _repo;
    private readonly int[] _chunk;  // index order (slowest first)
    private readonly int[]? _shape; // index order

    /// <param name="chunkDvid">Chunk (block) shape in DVID order, x first; at least <paramref name="dims"/> long.</param>
    /// <param name="shapeDvid">The fixed shape of an ndarray in DVID order, or null.</param>
    internal DicedArray(DicedRepo repo, string name, ArrayDtype dtype, int dims, bool isLabel, bool lossy, int[] chunkDvid, bool isNd = false,
        int[]? shapeDvid = null, string[]? axisNamesDvid = null)
    {
        _repo = repo;
        Name = name;
        Dtype = dtype;
        NumDims = dims;
        IsLabel = isLabel;
        IsLossy = lossy;
        IsNd = isNd;
        _chunk = Enumerable.Range(0, dims).Select(i => chunkDvid[dims - 1 - i]).ToArray();
        _shape = shapeDvid is null ? null : Enumerable.Range(0, dims).Select(i => shapeDvid[dims - 1 - i]).ToArray();
        AxisNames = axisNamesDvid is null ? DefaultAxisNames(dims) : Enumerable.Range(0, dims).Select(i => axisNamesDvid[dims - 1 - i]).ToArray();
        BlockSize = (chunkDvid[0], chunkDvid.Length > 1 ? chunkDvid[1] : 1, chunkDvid.Length > 2 ? chunkDvid[2] : 1);
        Version = repo.Uuid;
        Locked = repo.Locked;
    }

    /// <summary>Image and label volumes name their axes z, y, x.</summary>
    private static string[] DefaultAxisNames(int dims) => dims <= 3 ? new[] { "z", "y", "x" }[(3 - dims)..] : Enumerable.Range(0, dims).Select(i => $"d{dims - 1 - i}").ToArray();

    public string Name { get; }
    public ArrayDtype Dtype { get; }
    public int NumDims { get; }
    public bool IsLabel { get; }
    public bool IsLossy { get; }

    /// <summary>Whether this is an <c>ndarray</c> instance (any rank) rather than a 3-D image or label volume.</summary>
    public bool IsNd { get; }

    /// <summary>The chunk (block) shape of the first three DVID axes, x first.</summary>
    public (int X, int Y, int Z) BlockSize { get; }

    /// <summary>The chunk shape per index axis (slowest first).</summary>
    public IReadOnlyList<int> ChunkShape => _chunk;

    /// <summary>The fixed shape per index axis (slowest first), or null when the array grows with writes.</summary>
    public IReadOnlyList<int>? Shape => _shape;

    /// <summary>Axis names per index axis (slowest first), e.g. <c>t, z, y, x</c>.</summary>
    public IReadOnlyList<string> AxisNames { get; }

    /// <summary>The version this array object reads and writes.</summary>
    public string Version { get; }

    public bool Locked { get; }

    public int BytesPerElement => Dtype switch { ArrayDtype.Uint8 => 1, ArrayDtype.Uint16 => 2, ArrayDtype.Uint32 or ArrayDtype.Float32 => 4, _ => 8 };

    private Type ElementType => Dtype switch
    {
        ArrayDtype.Uint8 => typeof(byte), ArrayDtype.Uint16 => typeof(ushort), ArrayDtype.Uint32 => typeof(uint), ArrayDtype.Float32 => typeof(float), _ => typeof(ulong),
    };

    // ------------------------------------------------------------------ extents

    /// <summary>The written extent as [start, stop) per index axis (slowest first), or null before any write.</summary>
    public async Task<(int[] Start, int[] Stop)?> ExtentsAsync(CancellationToken ct = default)
    {
        using var doc = await _repo.Connection.GetJsonAsync($"/api/node/{Version}/{Name}/info", ct);
        var e = doc.RootElement.GetProperty("Extended");
        if (e.GetProperty("MinPoint").ValueKind != JsonValueKind.Array) return null;
        var min = e.GetProperty("MinPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var max = e.GetProperty("MaxPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        // DVID points are x first; indices run the other way.
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

    /// <summary>A region of any rank: one range or index per axis; the result has one dimension per range.</summary>
    public Array this[params AxisIndex[] axes]
    {
        get => ReadAsync(axes).GetAwaiter().GetResult();
        set => WriteAsync(axes, value).GetAwaiter().GetResult();
    }

    /// <summary>One element (any element type, widened to ulong; float32 elements as their value).</summary>
    public ulong this[params int[] index]
    {
        get => Element(ReadAsync(index.Select(i => (AxisIndex)i).ToArray()).GetAwaiter().GetResult());
        set => WriteAsync(index.Select(i => (AxisIndex)i).ToArray(), Single(value)).GetAwaiter().GetResult();
    }

    private static ulong Element(Array a) => a.Length == 1
        ? a.GetValue(new int[a.Rank]) is float f ? (ulong)f : Convert.ToUInt64(a.GetValue(new int[a.Rank]))
        : throw new DicedException("expected one element");

    private Array Single(ulong value)
    {
        var a = Array.CreateInstance(ElementType, 1);
        a.SetValue(Convert.ChangeType(value, ElementType), 0);
        return a;
    }

    // ------------------------------------------------------------------ reads and writes

    /// <summary>Reads a region (one range per index axis) into a new array of the element type (byte[,,], ushort[,], …).</summary>
    public Task<Array> ReadAsync(Range[] ranges, CancellationToken ct = default) => ReadAsync(ranges.Select(r => (AxisIndex)r).ToArray(), ct);

    /// <summary>Reads a region given as a range or index per axis; the result has one dimension per range (a single
    /// element when all are indices).</summary>
    public async Task<Array> ReadAsync(AxisIndex[] axes, CancellationToken ct = default)
    {
        var (offset, size) = await ResolveAsync(axes, null, ct);
        var kept = Enumerable.Range(0, NumDims).Where(i => !axes[i].IsSingle).Select(i => size[i]).ToArray();
        var result = Array.CreateInstance(ElementType, kept.Length == 0 ? [1] : kept);
        if (result.Length == 0) return result;
        await GetSlabsAsync(offset, size, (at, data) => data.CopyTo(Bytes(result).Slice((int)at, data.Length)), ct); // slabs fill disjoint parts
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
    public Task WriteAsync(Range[] ranges, Array data, CancellationToken ct = default) => WriteAsync(ranges.Select(r => (AxisIndex)r).ToArray(), data, ct);

    /// <summary>Writes <paramref name="data"/> at a region given as a range or index per axis; the data has one
    /// dimension per range (any single element when all are indices).</summary>
    public async Task WriteAsync(AxisIndex[] axes, Array data, CancellationToken ct = default)
    {
        if (Locked) throw new DicedException($"cannot write \"{Name}\": version {Version} is locked; branch from it to write");
        if (data.GetType().GetElementType() != ElementType)
            throw new DicedException($"array \"{Name}\" holds {Dtype}; got {data.GetType().GetElementType()?.Name} data");
        if (axes.Length != NumDims) throw new DicedException($"array \"{Name}\" has {NumDims} dimensions; {axes.Length} subscripts given");
        var ranged = Enumerable.Range(0, NumDims).Where(i => !axes[i].IsSingle).ToArray();
        if (ranged.Length == 0 ? data.Length != 1 : data.Rank != ranged.Length)
            throw new DicedException($"the region of \"{Name}\" has {ranged.Length} dimensions; the data has {data.Rank}");
        var shape = new int[NumDims];
        Array.Fill(shape, 1);
        for (int k = 0; k < ranged.Length; k++) shape[ranged[k]] = data.GetLength(k);
        var (offset, size) = await ResolveAsync(axes, shape, ct);
        if (!size.SequenceEqual(shape))
            throw new DicedException($"the region is {string.Join("x", size)} but the data is {string.Join("x", shape)}");
        if (data.Length == 0) return;
        await PostSlabsAsync(offset, size, (at, n) => new ByteArrayContent(Bytes(data).Slice((int)at, n).ToArray()), ct);
    }

    public Task WriteAsync<T>(Range z, Range y, Range x, T[,,] data, CancellationToken ct = default) where T : unmanaged => WriteAsync([z, y, x], data, ct);

    public Task WriteAsync<T>(Range y, Range x, T[,] data, CancellationToken ct = default) where T : unmanaged => WriteAsync([y, x], data, ct);

    public Task WriteAsync<T>(Range x, T[] data, CancellationToken ct = default) where T : unmanaged => WriteAsync([x], data, ct);

    /// <summary>Offsets and sizes per index axis; open ends come from the data's shape, the array's shape or the written extent.</summary>
    private async Task<(int[] Offset, int[] Size)> ResolveAsync(AxisIndex[] axes, int[]? dataShape, CancellationToken ct)
    {
        if (axes.Length != NumDims)
            throw new DicedException($"array \"{Name}\" has {NumDims} dimensions ({string.Join(", ", AxisNames)}); {axes.Length} subscripts given");
        bool OpenEnd(int i) => axes[i].Range.End.IsFromEnd && !(dataShape is not null && axes[i].Range.End.Value == 0 && !axes[i].IsSingle);
        int[]? stop = _shape?.ToArray();
        if (stop is null && Enumerable.Range(0, NumDims).Any(i => axes[i].Range.Start.IsFromEnd || OpenEnd(i)))
            stop = (await ExtentsAsync(ct))?.Stop ?? new int[NumDims];
        var offset = new int[NumDims];
        var size = new int[NumDims];
        for (int i = 0; i < NumDims; i++)
        {
            var r = axes[i].Range;
            int length = stop?[i] ?? 0;
            int start = r.Start.IsFromEnd ? length - r.Start.Value : r.Start.Value;
            int end = r.End.IsFromEnd ? (OpenEnd(i) ? length - r.End.Value : start + dataShape![i]) : r.End.Value;
            if (start < 0 || end < start || (_shape is not null && end > _shape[i]))
                throw new DicedException($"{axes[i]} does not fit axis {i} ({AxisNames[i]}) of \"{Name}\", whose {(_shape is null ? "written extent" : "shape")} is {length}");
            offset[i] = start;
            size[i] = end - start;
        }
        long bytes = size.Aggregate(1L, (a, b) => a * b) * BytesPerElement;
        if (bytes > Array.MaxLength) throw new DicedException($"a region of {bytes} bytes is too large for one array; read it in parts");
        return (offset, size);
    }

    private static Span<byte> Bytes(Array a)
        => MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(a), checked((int)((long)a.Length * Marshal.SizeOf(a.GetType().GetElementType()!))));
}
