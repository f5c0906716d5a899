using System.Collections.Immutable;
using Diced.Codecs;

namespace Diced.Datastore.Types.Labelsz;

/// <summary>
/// DVID's <c>labelsz</c>: bodies ranked by how many annotation elements of each kind they hold, kept from the annotation
/// instance it syncs with (optionally only the elements inside an ROI, <c>"ROI": "roiname,uuid"</c>).
/// </summary>
public sealed class LabelszType : DataType
{
    public const string RoiKey = "roi";

    public override string Name => "labelsz";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/labelsz";
    public override string Version => "0.1";

    public override IReadOnlySet<string> SyncsWith => ImmutableHashSet.Create("annotation");

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
    {
        var roi = config.GetValueOrDefault(RoiKey, "");
        if (roi.Length > 0 && roi.Split(',').Length != 2)
            throw DatastoreException.BadRequest($"bad ROI value (\"{roi}\") expected \"<roiname>,<uuid>\"");
        return ImmutableSortedDictionary<string, string>.Empty.Add(RoiKey, roi);
    }

    public override string Help => """
        API for labelsz data type (github.com/janelia-flyem/dvid/datatype/labelsz)
        ===========================================================================

        Bodies ranked by their annotation elements. Create with an optional ROI ("ROI": "roiname,uuid"), then sync to an
        annotation instance: POST <api URL>/node/<UUID>/<data name>/sync {"sync": "<annotation>"}. Counts are kept in the
        same commit as every annotation and label change. Index types: PostSyn, PreSyn, Gap, Note, AllSyn (PostSyn +
        PreSyn + Gap), Voxels (never counted).

        GET  <api URL>/node/<UUID>/<data name>/count/<label>/<index type>         {"Label": 21847, "PreSyn": 81}
        GET  <api URL>/node/<UUID>/<data name>/counts/<index type>   (JSON array of labels in the GET body)
        GET  <api URL>/node/<UUID>/<data name>/top/<N>/<index type>               [{"Label": 188, "Size": 81}, ...]
        GET  <api URL>/node/<UUID>/<data name>/threshold/<T>/<index type>[?offset=0&n=10000]
        POST <api URL>/node/<UUID>/<data name>/reload                 recount from the synced annotation
        """;
}
