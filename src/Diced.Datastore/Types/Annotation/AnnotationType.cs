using System.Collections.Immutable;
using Diced.Codecs;
using Diced.Datastore.Types.ImageBlock;

namespace Diced.Datastore.Types.Annotation;

/// <summary>
/// DVID's <c>annotation</c>: point annotations (synapse sites, gap junctions, notes) with tags, properties and
/// relationships, stored by block and indexed by tag and by the body under each point of a synced label instance.
/// </summary>
public sealed class AnnotationType : DataType
{
    public static readonly Geometry.Point3 DefaultBlockSize = new(64, 64, 64);

    public override string Name => "annotation";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/annotation";
    public override string Version => "0.1";

    public override IReadOnlySet<string> SyncsWith => ImmutableHashSet.Create("labelblk", "labelvol", "labelarray", "labelmap");

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
    {
        var bs = config.TryGetValue(ImageSettings.BlockSizeKey, out var text) ? ImageSettings.ParseBlockSize(text) : DefaultBlockSize;
        return ImmutableSortedDictionary<string, string>.Empty.Add(ImageSettings.BlockSizeKey, $"{bs.X},{bs.Y},{bs.Z}");
    }

    public override string Help => """
        API for synapse data type (github.com/janelia-flyem/dvid/datatype/annotation)
        ===========================================================================

        Point annotations: {"Pos":[x,y,z],"Kind":"PostSyn|PreSyn|Gap|Note","Tags":[...],"Prop":{...},"Rels":[{"Rel":"PreSynTo","To":[x,y,z]}]}.
        Sync to a labelmap, labelarray, labelblk or labelvol ({"sync": "<labels>"}) to index elements by the body under
        them; the index follows every label change in the same commit. Elements are stored in blocks (64³, or the synced
        labels' block size).

        POST   <api URL>/node/<UUID>/<data name>/elements                 JSON array of elements (replaces by position)
        GET    <api URL>/node/<UUID>/<data name>/elements/<size>/<offset>  elements inside the box (null when none)
        POST   <api URL>/node/<UUID>/<data name>/blocks                   {"bx,by,bz": [elements], ...} (replaces whole blocks)
        GET    <api URL>/node/<UUID>/<data name>/blocks/<size>/<offset>   {"bx,by,bz": [elements], ...} of blocks meeting the box
        GET    <api URL>/node/<UUID>/<data name>/all-elements             every block, as /blocks
        DELETE <api URL>/node/<UUID>/<data name>/element/<x_y_z>          (relationships pointing to it are removed)
        POST   <api URL>/node/<UUID>/<data name>/move/<from x_y_z>/<to x_y_z>
        GET    <api URL>/node/<UUID>/<data name>/label/<label>[?relationships=true|verbose]
        GET    <api URL>/node/<UUID>/<data name>/tag/<tag>[?relationships=true|verbose]
        GET    <api URL>/node/<UUID>/<data name>/roi/<roiname>[,<uuid>]  elements in the ROI's blocks (null when none)
        POST   <api URL>/node/<UUID>/<data name>/labels                   {"<label>": "<JSON array of elements>"} (unsynced instances)
        GET    <api URL>/node/<UUID>/<data name>/scan                     {"num kv pairs": N, "num empty blocks": 0}
        POST   <api URL>/node/<UUID>/<data name>/reload                   rebuild label and tag indices (and synced labelsz)
        GET    <api URL>/node/<UUID>/<data name>/mutations                the instance's change log
        GET|POST <api URL>/node/<UUID>/<data name>/tags | info | sync
        """;
}
