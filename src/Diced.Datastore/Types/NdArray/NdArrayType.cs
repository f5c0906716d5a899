using System.Collections.Immutable;
using Diced.Codecs;

namespace Diced.Datastore.Types.NdArray;

/// <summary><c>ndarray</c>: chunked arrays of 1 to 8 dimensions (time series, channels, spectra) with DVID's n-D request forms.</summary>
public sealed class NdArrayType : DataType
{
    public const string TypeName = "ndarray";

    public override string Name => TypeName;
    public override string Url => "github.com/diced/datatype/ndarray";
    public override string Version => "0.1";

    public override string DescribeKey(ReadOnlySpan<byte> tkey)
    {
        if (tkey is [NdArray.ExtentsClass]) return "extents";
        if (tkey.Length < 5 || tkey[0] != NdArray.ChunkClass || (tkey.Length - 1) % 4 != 0) return base.DescribeKey(tkey);
        int rank = (tkey.Length - 1) / 4;
        var c = new int[rank];
        for (int d = 0; d < rank; d++) c[d] = (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(tkey[(1 + 4 * (rank - 1 - d))..]) ^ 0x80000000u);
        return $"chunk {string.Join(",", c)}";
    }

    public override byte[]? MergeValues(ReadOnlySpan<byte> tkey, IReadOnlyList<byte[]?> values)
        => tkey is [NdArray.ExtentsClass] ? BlockKeys.UnionOfExtents(values) : null;

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
        => NdSettings.Normalize(config);

    public override string Help => """
        API for datatype "ndarray" (chunked arrays of 1 to 8 dimensions)
        ================================================================

        Axes are numbered as in DVID: dimension 0 is the fastest in packed data (x), then 1 (y), 2 (z), 3 (e.g. t)...
        Sizes and coordinates are listed in that order.

        POST /api/repo/<UUID>/instance  {"typename": "ndarray", "dataname": "<name>", "VoxelType": "uint16",
              "Shape": "256,256,256,16", "BlockSize": "64,64,64,1", "AxisNames": "x,y,z,t",
              "AxisUnits": "nanometers,nanometers,nanometers,seconds", "VoxelSize": "8,8,8,1", "Compression": "lz4"}
              VoxelType: uint8 (default), uint16, uint32, uint64, float32. Give Shape, BlockSize or both (one size per
              dimension); without Shape the array is unbounded (any int coordinate) and its extents grow with writes;
              with Shape every request must lie inside [0, Shape). Default chunks: 64 along the first three
              dimensions (at most the shape), 1 along the others. Compression: none, lz4 (default), gzip, zstd.

        GET  /api/node/<UUID>/<name>/info
              Extended: VoxelType, Rank, Shape (or null), BlockSize (chunk shape), AxisNames, AxisUnits, VoxelSize,
              MinPoint/MaxPoint (chunk-aligned extents of what is written, or null).

        GET  /api/node/<UUID>/<name>/raw/<dims>/<size>/<offset>
        POST /api/node/<UUID>/<name>/raw/<dims>/<size>/<offset>
            <dims> lists the axes that vary, ascending, joined by "_" (0_1_2_3 for a whole 4-D box); <size> gives one
            size per listed axis; <offset> gives a coordinate for every axis of the array (the unlisted axes are fixed
            there: raw/0_1_2/256_256_256/0_0_0_5 is time point 5 of a 4-D array). Packed little-endian elements, the
            first listed axis fastest. Unwritten elements read as 0. Reads stream a slab at a time; writes at any
            alignment keep the other elements of partly covered chunks.
        """;
}
