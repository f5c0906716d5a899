using System.Collections.Immutable;
using Diced.Codecs;

namespace Diced.Datastore.Types.Tarsupervoxels;

/// <summary>
/// DVID's <c>tarsupervoxels</c>: one file per supervoxel (meshes, usually Draco <c>.drc</c>), served per body as one
/// tar through the mapping of the labelmap it syncs with.
/// </summary>
public sealed class TarsupervoxelsType : DataType
{
    public const string ExtensionKey = "extension";

    public override string Name => "tarsupervoxels";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/tarsupervoxels";
    public override string Version => "0.1";

    /// <summary>Files are usually compressed meshes already.</summary>
    public override CompressionSpec DefaultCompression => CompressionSpec.None;

    public override IReadOnlySet<string> SyncsWith => ImmutableHashSet.Create("labelmap");

    public override ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
    {
        if (!config.TryGetValue(ExtensionKey, out var ext))
            throw DatastoreException.BadRequest("tarsupervoxels instances must have Extension set in the configuration");
        return ImmutableSortedDictionary<string, string>.Empty.Add(ExtensionKey, CheckExtension(ext));
    }

    /// <summary>An extension usable in tar member names <c>{supervoxel}.{extension}</c>.</summary>
    public static string CheckExtension(string ext)
    {
        if (ext.Length == 0 || ext.Length > 64 || ext.Any(c => c == '/' || c == '\\' || char.IsWhiteSpace(c) || char.IsControl(c)))
            throw DatastoreException.BadRequest($"tarsupervoxels Extension must be 1 to 64 characters without '/', '\\\\' or whitespace, got \"{ext}\"");
        return ext;
    }

    public override string Help => """
        API for 'tarsupervoxels' datatype (github.com/janelia-flyem/dvid/datatype/tarsupervoxels)
        ========================================================================================

        A file per supervoxel, served per body as one tar file through the synced labelmap's mapping at the requested
        version. Create with {"typename": "tarsupervoxels", "dataname": "<name>", "Extension": "drc"}, then
        POST <api URL>/node/<UUID>/<data name>/sync {"sync": "<labelmap>"}.

        GET  <api URL>/node/<UUID>/<data name>/help
        GET  <api URL>/node/<UUID>/<data name>/info
        POST <api URL>/node/<UUID>/<data name>/info                 {"Extension": "ngmesh"}
        POST <api URL>/node/<UUID>/<data name>/sync?<options>       {"sync": "<labelmap>"} (replace=true replaces)

        GET    <api URL>/node/<UUID>/<data name>/supervoxel/<id>    the file (404 when none)
        POST   <api URL>/node/<UUID>/<data name>/supervoxel/<id>    stores the body as the file
        DELETE <api URL>/node/<UUID>/<data name>/supervoxel/<id>

        GET  <api URL>/node/<UUID>/<data name>/tarfile/<label>
            A tar of every supervoxel of body <label>, in ascending supervoxel order, named "<sv>.<extension>"; a
            supervoxel without a file appears as an empty "<sv>.missing" (never left out).
        HEAD <api URL>/node/<UUID>/<data name>/tarfile/<label>
            200 when every supervoxel of the body has a file, 400 otherwise.
        GET  <api URL>/node/<UUID>/<data name>/missing/<label>      JSON array of the body's supervoxels without a file
        GET  <api URL>/node/<UUID>/<data name>/exists               JSON array of supervoxel ids in, JSON array of bools out
        POST <api URL>/node/<UUID>/<data name>/load                 a tar of "<sv>.<extension>" files, stored in one commit
        """;
}
