using System.Buffers.Binary;
using Diced.Datastore.Types.Labelsz;

namespace Diced.Datastore;

/// <summary>Settling a resolve of an annotation instance: label and tag records and labelsz counts made to agree with the blocks the child took.</summary>
public sealed partial class Datastore
{
    /// <summary>
    /// After a resolve wrote its winners into <paramref name="child"/>: the annotation's records any parent changed are
    /// rebuilt from the child's blocks, and the counts of the synced labelsz instances (<paramref name="sizes"/>, whose
    /// changed count keys are recounted too) follow. The work follows what the parents changed.
    /// </summary>
    private async Task SettleResolvedAnnotationsAsync(Repo repo, VersionRef child, IReadOnlyList<NodeRecord> parents, InstanceChanges changes,
        IReadOnlyList<InstanceChanges> sizes, CancellationToken ct)
    {
        var inst = changes.Instance;
        var changed = changes.ByParent.SelectMany(k => k).ToHashSet(Versioning.ByteArrayEquality.Instance);
        var counts = sizes.SelectMany(s => s.ByParent).SelectMany(k => k).Where(k => k.Length == 10 && k[0] == LabelSizes.CountClass)
            .Select(k => BinaryPrimitives.ReadUInt64BigEndian(k.AsSpan(2))).ToHashSet();
        var atParents = parents.Select(p => AnnotationsOf(DataAt(new VersionRef(repo, p), inst))).ToList();
        await AnnotationsOf(DataAt(child, inst)).SettleResolveAsync(atParents, changed, counts, ct);
    }
}
