namespace Diced.Datastore.Geometry;

/// <summary>
/// A box of an n-D array (1 to 8 dimensions) in DVID's axis order: dimension 0 is the fastest in packed data. Offsets
/// may be negative; every end (offset + size) fits an int. Boxes are immutable values.
/// </summary>
public sealed class NdBox : IEquatable<NdBox>
{
    public const int MaxRank = 8;

    private readonly int[] _offset, _size;

    public NdBox(int[] offset, int[] size)
    {
        if (offset.Length != size.Length || offset.Length is < 1 or > MaxRank)
            throw new ArgumentException($"a box has 1 to {MaxRank} dimensions, offset and size alike");
        for (int d = 0; d < size.Length; d++)
            if (size[d] < 0 || (long)offset[d] + size[d] > int.MaxValue + 1L)
                throw new ArgumentException($"dimension {d} of the box does not fit 32-bit coordinates");
        _offset = (int[])offset.Clone();
        _size = (int[])size.Clone();
    }

    public int Rank => _size.Length;
    public ReadOnlySpan<int> Offset => _offset;
    public ReadOnlySpan<int> Size => _size;
    public int OffsetOf(int d) => _offset[d];
    public int SizeOf(int d) => _size[d];

    /// <summary>One past the last coordinate along <paramref name="d"/> (as a long: it may be 2^31).</summary>
    public long EndOf(int d) => (long)_offset[d] + _size[d];

    public long VoxelCount
    {
        get
        {
            long n = 1;
            foreach (var s in _size) n = checked(n * s);
            return n;
        }
    }

    /// <summary>The same box with dimension <paramref name="d"/> narrowed to [<paramref name="from"/>, <paramref name="from"/> + <paramref name="count"/>).</summary>
    public NdBox WithRange(int d, int from, int count)
    {
        var o = (int[])_offset.Clone();
        var s = (int[])_size.Clone();
        o[d] = from;
        s[d] = count;
        return new NdBox(o, s);
    }

    public NdBox? Intersect(NdBox other)
    {
        var o = new int[Rank];
        var s = new int[Rank];
        for (int d = 0; d < Rank; d++)
        {
            long lo = Math.Max(_offset[d], other._offset[d]), hi = Math.Min(EndOf(d), other.EndOf(d));
            if (hi <= lo) return null;
            o[d] = (int)lo;
            s[d] = (int)(hi - lo);
        }
        return new NdBox(o, s);
    }

    public bool Contains(NdBox inner)
    {
        for (int d = 0; d < Rank; d++)
            if (inner._offset[d] < _offset[d] || inner.EndOf(d) > EndOf(d)) return false;
        return true;
    }

    /// <summary>The box of chunk <paramref name="chunk"/> (chunk coordinates) for chunks of <paramref name="chunkShape"/>.</summary>
    public static NdBox OfChunk(ReadOnlySpan<int> chunk, ReadOnlySpan<int> chunkShape)
    {
        var o = new int[chunk.Length];
        for (int d = 0; d < o.Length; d++) o[d] = checked(chunk[d] * chunkShape[d]);
        return new NdBox(o, chunkShape.ToArray());
    }

    /// <summary>First and last chunk coordinate along each dimension that this (non-empty) box touches.</summary>
    public (int[] First, int[] Last) ChunkRange(ReadOnlySpan<int> chunkShape)
    {
        var first = new int[Rank];
        var last = new int[Rank];
        for (int d = 0; d < Rank; d++)
        {
            first[d] = (int)Math.Floor((double)_offset[d] / chunkShape[d]);
            last[d] = (int)Math.Floor((double)(EndOf(d) - 1) / chunkShape[d]);
        }
        return (first, last);
    }

    /// <summary>How many chunks this box touches.</summary>
    public long ChunkCount(ReadOnlySpan<int> chunkShape)
    {
        var (first, last) = ChunkRange(chunkShape);
        long n = 1;
        for (int d = 0; d < Rank; d++) n = checked(n * (last[d] - first[d] + 1));
        return n;
    }

    /// <summary>Every chunk this box touches, dimension 0 fastest (the order of their keys).</summary>
    public IEnumerable<int[]> Chunks(int[] chunkShape)
    {
        var (first, last) = ChunkRange(chunkShape);
        return Points(first, last);
    }

    /// <summary>Every integer point from <paramref name="first"/> to <paramref name="last"/> (inclusive), dimension 0
    /// fastest; one empty point when both are empty.</summary>
    public static IEnumerable<int[]> Points(int[] first, int[] last)
    {
        var c = (int[])first.Clone();
        while (true)
        {
            yield return (int[])c.Clone();
            int d = 0;
            for (; d < c.Length; d++)
            {
                if (c[d] < last[d]) { c[d]++; break; }
                c[d] = first[d];
            }
            if (d == c.Length) yield break;
        }
    }

    /// <summary>
    /// Splits the box into parts that are each a contiguous run of its packed bytes, in order: along the slowest
    /// dimension that has more than one voxel, at chunk boundaries, each part at most about <paramref name="maxBytes"/>
    /// (a chunk layer larger than that is cut into groups of whole indices, and a single index larger still is split
    /// along the next dimension in the same way).
    /// </summary>
    public IEnumerable<NdBox> Slabs(ReadOnlySpan<int> chunkShape, int bytesPerVoxel, long maxBytes)
    {
        var result = new List<NdBox>();
        AddSlabs(this, chunkShape.ToArray(), bytesPerVoxel, maxBytes, result);
        return result;
    }

    private static void AddSlabs(NdBox box, int[] chunkShape, int bpv, long maxBytes, List<NdBox> into)
    {
        int d = box.Rank - 1;
        while (d > 0 && box._size[d] <= 1) d--;
        long perIndex = box.VoxelCount / Math.Max(1, box._size[d]) * bpv;
        int chunk = chunkShape[d];
        for (long at = box._offset[d]; at < box.EndOf(d);)
        {
            long layerEnd = Math.Min(box.EndOf(d), (long)Math.Floor((double)at / chunk) * chunk + chunk);
            var layer = box.WithRange(d, (int)at, (int)(layerEnd - at));
            if (layer.VoxelCount * bpv <= maxBytes || d == 0 && layer._size[0] == 1) into.Add(layer);
            else if (perIndex <= maxBytes || d == 0)
            {
                int group = (int)Math.Max(1, maxBytes / perIndex);
                for (long i = at; i < layerEnd; i += group)
                    into.Add(box.WithRange(d, (int)i, (int)Math.Min(group, layerEnd - i)));
            }
            else
                for (long i = at; i < layerEnd; i++) AddSlabs(box.WithRange(d, (int)i, 1), chunkShape, bpv, maxBytes, into);
            at = layerEnd;
        }
    }

    /// <summary>
    /// Copies the voxels of <paramref name="region"/> from <paramref name="src"/> (packed over <paramref name="srcBox"/>)
    /// into <paramref name="dst"/> (packed over <paramref name="dstBox"/>); the region lies in both boxes.
    /// </summary>
    public static void Copy(ReadOnlySpan<byte> src, NdBox srcBox, Span<byte> dst, NdBox dstBox, NdBox region, int bpv)
    {
        int rank = region.Rank;
        Span<long> srcStride = stackalloc long[rank], dstStride = stackalloc long[rank];
        long ss = bpv, ds = bpv;
        for (int d = 0; d < rank; d++)
        {
            srcStride[d] = ss;
            dstStride[d] = ds;
            ss *= srcBox._size[d];
            ds *= dstBox._size[d];
        }
        long srcAt = 0, dstAt = 0;
        for (int d = 0; d < rank; d++)
        {
            srcAt += (region._offset[d] - (long)srcBox._offset[d]) * srcStride[d];
            dstAt += (region._offset[d] - (long)dstBox._offset[d]) * dstStride[d];
        }
        int run = region._size[0] * bpv;
        Span<int> index = stackalloc int[rank];
        while (true)
        {
            src.Slice((int)srcAt, run).CopyTo(dst.Slice((int)dstAt, run));
            int d = 1;
            for (; d < rank; d++)
            {
                srcAt += srcStride[d];
                dstAt += dstStride[d];
                if (++index[d] < region._size[d]) break;
                srcAt -= srcStride[d] * region._size[d];
                dstAt -= dstStride[d] * region._size[d];
                index[d] = 0;
            }
            if (d >= rank) return;
        }
    }

    /// <summary>Clears the voxels of <paramref name="region"/> in <paramref name="dst"/>, packed over <paramref name="dstBox"/>.</summary>
    public static void Zero(Span<byte> dst, NdBox dstBox, NdBox region, int bpv)
    {
        int rank = region.Rank;
        Span<long> stride = stackalloc long[rank];
        long s = bpv;
        for (int d = 0; d < rank; d++)
        {
            stride[d] = s;
            s *= dstBox._size[d];
        }
        long at = 0;
        for (int d = 0; d < rank; d++) at += (region._offset[d] - (long)dstBox._offset[d]) * stride[d];
        int run = region._size[0] * bpv;
        Span<int> index = stackalloc int[rank];
        while (true)
        {
            dst.Slice((int)at, run).Clear();
            int d = 1;
            for (; d < rank; d++)
            {
                at += stride[d];
                if (++index[d] < region._size[d]) break;
                at -= stride[d] * region._size[d];
                index[d] = 0;
            }
            if (d >= rank) return;
        }
    }

    public bool Equals(NdBox? other) => other is not null && _offset.AsSpan().SequenceEqual(other._offset) && _size.AsSpan().SequenceEqual(other._size);

    public override bool Equals(object? obj) => Equals(obj as NdBox);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var v in _offset) h.Add(v);
        foreach (var v in _size) h.Add(v);
        return h.ToHashCode();
    }

    public override string ToString() => $"{string.Join("x", _size)} at {string.Join(",", _offset)}";
}
