using System.Collections.Immutable;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;

namespace Diced.Datastore.Types.Roi;

/// <summary>The <c>roi</c> type: a region of interest as a set of blocks, stored as x-runs of block coordinates.</summary>
public sealed class RoiType : DataType
{
    public static readonly Point3 DefaultBlockSize = new(32, 32, 32);

    public override string Name => "roi";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/roi";
    public override string Version => "0.1";
    public override CompressionSpec DefaultCompression => new(CompressionKind.Zstd, -1);

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
    {
        var bs = config.TryGetValue(ImageSettings.BlockSizeKey, out var text) ? ImageSettings.ParseBlockSize(text) : DefaultBlockSize;
        return ImmutableSortedDictionary<string, string>.Empty.Add(ImageSettings.BlockSizeKey, $"{bs.X},{bs.Y},{bs.Z}");
    }

    public override string Help => """
        API for 'roi' datatype (github.com/janelia-flyem/dvid/datatype/roi)
        ===================================================================

        An ROI is a set of blocks (BlockSize, default 32,32,32) given as spans [z, y, x0, x1] of block coordinates:
        the blocks (x0, y, z) through (x1, y, z).

        GET    <api URL>/node/<UUID>/<data name>/roi        JSON spans sorted by z, y, x0
        POST   <api URL>/node/<UUID>/<data name>/roi        replaces the ROI at this version with the posted spans
        DELETE <api URL>/node/<UUID>/<data name>/roi        removes the ROI at this version
        POST   <api URL>/node/<UUID>/<data name>/ptquery    [[x,y,z], ...] voxel points -> [true, false, ...] (allowed on locked nodes)
        GET    <api URL>/node/<UUID>/<data name>/mask/0_1_2/<size>/<offset>   uint8 volume, 1 inside the ROI
        GET    <api URL>/node/<UUID>/<data name>/partition?batchsize=N         subvolumes of N^3 blocks covering the ROI
        """;
}
