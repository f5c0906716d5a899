using System.Collections.Immutable;
using System.Globalization;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;

namespace Diced.Datastore.Types.Labels;

/// <summary>What a label type keeps beyond voxels.</summary>
public enum LabelKind
{
    /// <summary><c>labelblk</c>: uint64 voxels in plain (LZ4) blocks, no index.</summary>
    Labelblk,
    /// <summary><c>labelarray</c>: DVID label blocks with a per-label index; merges rewrite voxels.</summary>
    Labelarray,
    /// <summary><c>labelmap</c>: DVID label blocks of supervoxels, a supervoxel → body mapping, per-body indices.</summary>
    Labelmap,
}

/// <summary>The label types: <c>labelblk</c>, <c>labelarray</c>, <c>labelmap</c>.</summary>
public sealed class LabelType(LabelKind kind) : DataType
{
    public const string MaxDownresKey = "maxdownreslevel", IndexedKey = "indexedlabels";

    public LabelKind Kind { get; } = kind;

    public override string Name => Kind.ToString().ToLowerInvariant();
    public override string Url => $"github.com/janelia-flyem/dvid/datatype/{Name}";
    public override string Version => "0.1";

    /// <summary>Label blocks: DVID's format under zstd (about 5x smaller than gzip's DVID output on EM segmentation);
    /// labelblk: LZ4 like DVID (its block endpoints send the LZ4 payload).</summary>
    public override CompressionSpec DefaultCompression => Kind == LabelKind.Labelblk ? CompressionSpec.Lz4 : CompressionSpec.Parse("zstd");

    /// <summary>DVID's syncs: a labelblk follows another labelblk (its downres) or a labelvol; labelmap and labelarray are
    /// not syncable themselves (annotations, labelsz and meshes sync to them from their own side).</summary>
    public override IReadOnlySet<string> SyncsWith => Kind == LabelKind.Labelblk ? ImmutableHashSet.Create("labelblk", "labelvol") : ImmutableHashSet<string>.Empty;

    public Point3 DefaultBlockSize => Kind == LabelKind.Labelblk ? new Point3(32, 32, 32) : new Point3(64, 64, 64);

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
    {
        var b = ImageSettings.Normalize(config, DefaultBlockSize, ImageBlockType.MaxBlockVoxels / 8).ToBuilder();
        var bs = ImageSettings.ParseBlockSize(b[ImageSettings.BlockSizeKey]);
        if (Kind != LabelKind.Labelblk && (bs.X % 8 != 0 || bs.Y % 8 != 0 || bs.Z % 8 != 0 || bs.X > 1024 || bs.Y > 1024 || bs.Z > 1024))
            throw DatastoreException.BadRequest($"{Name} BlockSize must be multiples of 8 up to 1024, got {bs.X},{bs.Y},{bs.Z}");
        int maxDownres = 0;
        if (config.TryGetValue(MaxDownresKey, out var md) && (!int.TryParse(md.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out maxDownres) || maxDownres > 10))
            throw DatastoreException.BadRequest($"MaxDownresLevel must be an integer 0-10, got \"{md}\"");
        b[MaxDownresKey] = maxDownres.ToString(CultureInfo.InvariantCulture);
        bool indexed = Kind != LabelKind.Labelblk;
        if (config.TryGetValue(IndexedKey, out var ix))
        {
            indexed = ix.Trim().ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw DatastoreException.BadRequest($"IndexedLabels must be true or false, got \"{ix}\""),
            };
        }
        b[IndexedKey] = (indexed && Kind != LabelKind.Labelblk) ? "true" : "false";
        return b.ToImmutable();
    }

    public override bool ShowsInDiff(ReadOnlySpan<byte> tkey) => tkey.Length > 0 && tkey[0] != LabelVolume.MutationClass;

    public override string DescribeKey(ReadOnlySpan<byte> tkey) => tkey switch
    {
        [ImageVolume.ExtentsClass] => "extents",
        [LabelVolume.MaxLabelClass] => "max label",
        [ImageVolume.BlockClass, ..] => BlockKeys.Block(tkey),
        [var c, ..] when c > 0x30 && c < 0x40 => $"scale {c - 0x30} {BlockKeys.Block(tkey)}",
        [LabelVolume.IndexClass, ..] when tkey.Length == 9 => $"label {System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(tkey[1..])}",
        [LabelVolume.MappingClass, ..] when tkey.Length == 9 => $"supervoxel {System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(tkey[1..])} mapping",
        _ => base.DescribeKey(tkey),
    };

    public override byte[]? MergeValues(ReadOnlySpan<byte> tkey, IReadOnlyList<byte[]?> values) => tkey switch
    {
        [ImageVolume.ExtentsClass] => BlockKeys.UnionOfExtents(values),
        [LabelVolume.MaxLabelClass] => values.Where(v => v is not null).MaxBy(v => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(v)),
        _ => null,
    };

    public override string Help => $$"""
        API for datatype "{{Name}}" (64-bit labels{{(Kind == LabelKind.Labelmap ? ": supervoxels mapped to bodies" : "")}})
        ===========================================================

        POST /api/repo/<UUID>/instance  {"typename": "{{Name}}", "dataname": "<name>", "BlockSize": "{{DefaultBlockSize.X}},{{DefaultBlockSize.Y}},{{DefaultBlockSize.Z}}"}
        GET  /api/node/<UUID>/<name>/info | metadata
        GET  /api/node/<UUID>/<name>/raw/0_1_2/<size>/<offset>[?compression=lz4|gzip|google|googlegzip&supervoxels=true]
        POST /api/node/<UUID>/<name>/raw/0_1_2/<size>/<offset>[?compression=lz4|gzip]
        GET  /api/node/<UUID>/<name>/label/<x_y_z>          GET (JSON body [[x,y,z],...]) /labels
        GET  /api/node/<UUID>/<name>/blocks/<size>/<offset>[?compression=lz4|gzip|blocks|uncompressed]
        {{(Kind == LabelKind.Labelblk ? "" : """
        POST /api/node/<UUID>/<name>/blocks               (gzip DVID label blocks)
        GET  /api/node/<UUID>/<name>/specificblocks?blocks=x,y,z,...
        GET  /api/node/<UUID>/<name>/maxlabel | nextlabel    POST /nextlabel/<count>
        GET  /api/node/<UUID>/<name>/sparsevol/<label>[?format=rles|srles|blocks&minx=...&exact=]   HEAD: 200/204
        GET  /api/node/<UUID>/<name>/sparsevol-coarse/<label> | sparsevol-size/<label> | size/<label> | supervoxels/<label>
        GET  /api/node/<UUID>/<name>/sizes | mapping   (JSON body)
        POST /api/node/<UUID>/<name>/merge [target, a, b, ...]    POST /cleave/<label> [sv, ...]
        """)}}
        """;
}
