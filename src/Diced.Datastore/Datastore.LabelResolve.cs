using System.Buffers.Binary;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;

namespace Diced.Datastore;

/// <summary>Settling a resolve of a label instance: indices and pyramid made to agree with the blocks the child took.</summary>
public sealed partial class Datastore
{
    /// <summary>
    /// After a resolve wrote its winners into <paramref name="child"/>: every body whose index any parent changed gets
    /// its index counted again from the child's blocks (the blocks any parent's index of it names, read once each,
    /// supervoxels mapped as the child maps them), and the pyramid above the blocks taken by priority is rebuilt.
    /// The work follows what changed: the bodies and blocks the parents touched.
    /// </summary>
    private async Task RecountResolvedLabelsAsync(Repo repo, VersionRef child, IReadOnlyList<NodeRecord> parents, InstanceChanges changes,
        IReadOnlyList<byte[]> resolvedKeys, CancellationToken ct)
    {
        var inst = changes.Instance;
        var labels = LabelVolumeOf(DataAt(child, inst));
        var bodies = changes.ByParent.SelectMany(s => s).Where(k => k.Length == 9 && k[0] == LabelVolume.IndexClass)
            .Select(k => BinaryPrimitives.ReadUInt64BigEndian(k.AsSpan(1))).ToHashSet();
        var blocks = new HashSet<Point3>();
        foreach (var p in parents)
        {
            var atParent = LabelVolumeOf(DataAt(new VersionRef(repo, p), inst));
            foreach (var body in bodies)
                if (await atParent.GetIndexAsync(body, ct) is { } idx) blocks.UnionWith(idx.Blocks.Keys);
        }
        await labels.RecountIndicesAsync(bodies, blocks, ct);
        var taken = resolvedKeys.Where(k => k.Length == 13 && k[0] == ImageVolume.BlockClass).Select(k => ImageVolume.BlockOfKey(k)).ToList();
        await labels.RebuildLevelsAsync(taken, ct);
    }
}
