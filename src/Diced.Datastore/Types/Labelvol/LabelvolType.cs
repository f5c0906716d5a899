using System.Collections.Immutable;
using Diced.Codecs;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;

namespace Diced.Datastore.Types.Labelvol;

/// <summary>
/// DVID's <c>labelvol</c>: the sparse volumes of the labels of a <c>labelblk</c> it syncs with. A labelvol keeps no data
/// of its own here: once it syncs with a labelblk (either direction), that labelblk keeps a label index in the same
/// commit as its voxels, and the labelvol's routes read and change the labelblk through it (merges and splits
/// relabel voxels, as DVID's labelblk does when its labelvol reports them).
/// </summary>
public sealed class LabelvolType : DataType
{
    public override string Name => "labelvol";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/labelvol";
    public override string Version => "0.1";

    public override IReadOnlySet<string> SyncsWith => ImmutableHashSet.Create("labelblk");

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
        => ImageSettings.Normalize(config, new LabelType(LabelKind.Labelblk).DefaultBlockSize, ImageBlockType.MaxBlockVoxels / 8);

    public override string Help => """
        API for label sparse volume data type (github.com/janelia-flyem/dvid/datatype/labelvol)
        =======================================================================================

        A labelvol gives the sparse volumes of the labels of the labelblk it syncs with; sync both ways, before writing
        labels (a labelblk that already holds blocks is indexed when the sync is made, up to a limit):
            POST <api URL>/node/<UUID>/<labelvol>/sync   {"sync": "<labelblk>"}
            POST <api URL>/node/<UUID>/<labelblk>/sync   {"sync": "<labelvol>"}

        GET  <api URL>/node/<UUID>/<data name>/help | info          POST .../info (VoxelSize, VoxelUnits)
        GET  <api URL>/node/<UUID>/<data name>/sparsevol/<label>[?minx=&maxx=&miny=&maxy=&minz=&maxz=&exact=&compression=lz4|gzip]
        HEAD <api URL>/node/<UUID>/<data name>/sparsevol/<label>     200 exists, 204 not within bounds, 404 no such label
        GET  <api URL>/node/<UUID>/<data name>/sparsevol-by-point/<x_y_z>
        GET  <api URL>/node/<UUID>/<data name>/sparsevol-coarse/<label>
        GET  <api URL>/node/<UUID>/<data name>/maxlabel | nextlabel  POST .../nextlabel {"needed": N} -> {"start": S, "end": E}
        POST <api URL>/node/<UUID>/<data name>/merge   [toLabel, fromLabel1, fromLabel2, ...]
        POST <api URL>/node/<UUID>/<data name>/split/<label>[?splitlabel=X]         sparse volume (voxels) -> {"label": N}
        POST <api URL>/node/<UUID>/<data name>/split-coarse/<label>[?splitlabel=X]  sparse volume (blocks) -> {"label": N}
        POST <api URL>/node/<UUID>/<data name>/resync/<label>   sparse volume (blocks): recount the label in those blocks
        DELETE <api URL>/node/<UUID>/<data name>/area/<label>/<size>/<offset>   erases the label's voxels in that box
        """;
}
