using Diced.Datastore.Types.Tarsupervoxels;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>tarsupervoxels at a version, wired to the labelmap it syncs with (at the same version).</summary>
public sealed partial class Datastore
{
    public SupervoxelFiles SupervoxelFilesOf(VersionedData data)
    {
        if (data.Instance.TypeName != "tarsupervoxels") throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" is not a tarsupervoxels instance");
        var state = data.Repo.State;
        return new SupervoxelFiles(data, () =>
            data.Instance.Syncs.Select(s => state.Instances.GetValueOrDefault(s)).FirstOrDefault(i => i?.TypeName == "labelmap") is { } labels
                ? LabelVolumeOf(data.Sibling(Stores.Of(labels), labels))
                : null);
    }
}
