using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>
/// Data kept from a label volume's labels (annotations synced to it), changed in the label change's own transaction:
/// the follower joins the transaction (<see cref="Transaction.Join"/>), so both commit as one.
/// </summary>
public interface ILabelFollower
{
    /// <summary>Whether <see cref="VoxelsChangedAsync"/> maps supervoxels to bodies (else the mapping is not looked up for it).</summary>
    bool UsesBodies => true;

    /// <summary>
    /// Level-0 voxels of <paramref name="blocks"/> changed in <paramref name="tx"/> (read them through it);
    /// <paramref name="bodyOf"/> gives a supervoxel's body as the transaction leaves the mapping.
    /// </summary>
    Task VoxelsChangedAsync(Transaction tx, LabelVolume labels, IReadOnlyCollection<Point3> blocks, Func<ulong, ulong> bodyOf, CancellationToken ct);

    /// <summary>Bodies <paramref name="merged"/> became <paramref name="target"/> (merges, renumbers).</summary>
    Task BodiesMergedAsync(Transaction tx, ulong target, IReadOnlyCollection<ulong> merged, CancellationToken ct);

    /// <summary><paramref name="supervoxels"/> moved from body <paramref name="from"/> to body <paramref name="to"/> (cleaves, mapping posts).</summary>
    Task SupervoxelsMovedAsync(Transaction tx, ulong from, ulong to, IReadOnlySet<ulong> supervoxels, CancellationToken ct);
}
