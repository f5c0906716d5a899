using System.Collections.Frozen;
using System.Collections.Immutable;
using Diced.Codecs;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>The imageblk family: <c>uint8blk</c>, <c>uint16blk</c>, <c>uint32blk</c>, <c>uint64blk</c>, <c>float32blk</c>.</summary>
public sealed class ImageBlockType(VoxelType voxel) : DataType
{
    /// <summary>Largest block (voxels) an instance may declare: 1024³ / 4 keeps a block value under 2 GiB for 8-byte voxels.</summary>
    public const long MaxBlockVoxels = 1L << 28;

    public static readonly Point3 DefaultBlockSize = new(64, 64, 64);

    public VoxelType Voxel { get; } = voxel;

    public override string Name => Voxel.DataTypeName() + "blk";
    public override string Url => $"github.com/janelia-flyem/dvid/datatype/imageblk/{Voxel.DataTypeName()}.go";
    public override string Version => Voxel == VoxelType.Uint8 ? "0.2" : "0.1";

    public override string DescribeKey(ReadOnlySpan<byte> tkey) => tkey switch
    {
        [ImageVolume.ExtentsClass] => "extents",
        [ImageVolume.BlockClass, ..] => BlockKeys.Block(tkey),
        [var c, ..] when c > 0x40 && c <= 0x40 + ImagePyramid.MaxLevels => $"level {c - 0x40} {BlockKeys.Block(tkey)}",
        _ => base.DescribeKey(tkey),
    };

    public override byte[]? MergeValues(ReadOnlySpan<byte> tkey, IReadOnlyList<byte[]?> values)
        => tkey is [ImageVolume.ExtentsClass] ? BlockKeys.UnionOfExtents(values) : null;

    public override bool Supports(CompressionKind kind) => base.Supports(kind) || (kind == CompressionKind.Jpeg && Voxel == VoxelType.Uint8);

    /// <summary>Image type names (<c>uint8blk</c> …) and their voxel types; asked for every instance of a repo-info answer.</summary>
    private static readonly FrozenDictionary<string, VoxelType> ImageTypes =
        Enum.GetValues<VoxelType>().ToDictionary(v => v.DataTypeName() + "blk").ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="typeName"/> is one of the image types (not a label type).</summary>
    public static bool IsImageType(string typeName) => ImageTypes.ContainsKey(typeName);

    /// <summary>The voxel type of image type <paramref name="typeName"/>.</summary>
    public static VoxelType VoxelOf(string typeName) => ImageTypes.TryGetValue(typeName, out var v) ? v : throw new InvalidOperationException($"{typeName} is not an image type");

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
    {
        var settings = ImageSettings.Normalize(config, DefaultBlockSize, MaxBlockVoxels);
        if (config.TryGetValue(ImagePyramid.MaxDownresKey, out var md) && ParseMaxDownres(md) is var levels)
        {
            if (levels > 0) ImagePyramid.CheckBlockSize(ImageSettings.ParseBlockSize(settings[ImageSettings.BlockSizeKey]), Voxel.BytesPerVoxel());
            settings = settings.SetItem(ImagePyramid.MaxDownresKey, levels.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (compression.Kind == CompressionKind.Jpeg)
        {
            var bs = ImageSettings.ParseBlockSize(settings[ImageSettings.BlockSizeKey]);
            if (bs.X > 65535 || (long)bs.Y * bs.Z > 65535)
                throw DatastoreException.BadRequest($"JPEG blocks are stored as {bs.X}x{(long)bs.Y * bs.Z} images; JPEG allows at most 65535 a side");
        }
        return settings;
    }

    public static int ParseMaxDownres(string text)
        => int.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= ImagePyramid.MaxLevels ? n
            : throw DatastoreException.BadRequest($"MaxDownresLevel must be an integer 0-{ImagePyramid.MaxLevels}, got \"{text}\"");

    public override string Help => $$"""
        API for datatype "{{Name}}" (block-stored {{Voxel.DataTypeName()}} volumes)
        ===========================================================

        POST /api/repo/<UUID>/instance  {"typename": "{{Name}}", "dataname": "<name>", "BlockSize": "64,64,64",
              "VoxelSize": "8,8,8", "VoxelUnits": "nanometers", "Background": "0", "Compression": "lz4", "MaxDownresLevel": "0"}
              MaxDownresLevel N keeps levels 1..N (each the 2x2x2 mean of the one below) current on every write; level k
              is read as the instance "<name>_k" (listed in the repo info, read-only), as Neuroglancer's dvid:// expects.
              Compression: none, lz4 (default), gzip[:1-9], zstd[:1-22]{{(Voxel == VoxelType.Uint8 ? ", jpeg[:quality]" : "")}}.

        GET  /api/node/<UUID>/<name>/info | metadata
        POST /api/node/<UUID>/<name>/extents      {"MinPoint": [x,y,z], "MaxPoint": [x,y,z]}
        POST /api/node/<UUID>/<name>/resolution   [x, y, z]

        GET  /api/node/<UUID>/<name>/raw/0_1_2/<size>/<offset>[/jpeg][?compression=lz4&throttle=on&roi=<roi>]
        POST /api/node/<UUID>/<name>/raw/0_1_2/<size>/<offset>[?compression=lz4&throttle=on&roi=<roi>]
            Packed voxels, x fastest, then y, then z, little-endian. Any offset and size; unwritten voxels read as 0.
            A POST that covers part of a block keeps the block's other voxels.
        GET  /api/node/<UUID>/<name>/raw/<0_1|0_2|1_2>/<w_h>/<offset>[/png|jpg[:quality]|binary]
        GET  /api/node/<UUID>/<name>/subvolblocks/<size>/<offset>[?compression=jpeg|uncompressed]
        GET  /api/node/<UUID>/<name>/specificblocks?blocks=x,y,z,...[&compression=...]
        GET  /api/node/<UUID>/<name>/blocks/<bx_by_bz>/<spanX>
        POST /api/node/<UUID>/<name>/blocks/<bx_by_bz>/<spanX>
        POST /api/node/<UUID>/<name>/downres/<level>/<size>/<offset>
            Rebuilds the blocks of pyramid level <level> above the level-0 box from level <level>-1 (for data written
            before the level existed; build levels in order). Answers {"Level": k, "Blocks": n}.
        """;
}
