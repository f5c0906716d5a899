using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

public sealed partial class Datastore
{
    /// <summary>The voxels of an image instance at a version, or level 0 of a label instance.</summary>
    public ImageVolume ImageVolumeOf(VersionedData data) => Types.Get(data.Instance.TypeName) switch
    {
        // A pyramid level's virtual instance (its settings carry the level and its voxel size).
        ImageBlockType t when ImagePyramid.LevelOf(data.Instance) is var level && level > 0 => ImagePyramid.LevelOf(new ImageVolume(data, Coordination, t.Voxel), level),
        ImageBlockType t => new ImageVolume(data, Coordination, t.Voxel).WithPyramid(ImagePyramid.MaxLevelOf(data.Instance)),
        LabelType => LabelVolumeOf(data).Volume,
        var t => throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" of type {t.Name} has no voxels"),
    };

    /// <summary>An n-D array instance at a version.</summary>
    public Types.NdArray.NdArray NdArrayOf(VersionedData data) => Types.Get(data.Instance.TypeName) is Types.NdArray.NdArrayType
        ? new Types.NdArray.NdArray(data, Coordination)
        : throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" of type {data.Instance.TypeName} is not an ndarray");

    /// <summary>A label instance at a version; changes made through it are recorded as <paramref name="context"/>'s.</summary>
    /// A labelvol gives the labelblk it views.
    public LabelVolume LabelVolumeOf(VersionedData data, MutationContext? context = null) => Types.Get(data.Instance.TypeName) switch
    {
        LabelType t => new LabelVolume(data, t, Coordination, Counters, context, FollowersOf(data)),
        Diced.Datastore.Types.Labelvol.LabelvolType => LabelvolSourceOf(data, context),
        _ => throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" is not a label instance"),
    };
}
