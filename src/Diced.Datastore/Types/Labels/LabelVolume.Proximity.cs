using System.Runtime.InteropServices;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>One block where a target label and another label both have voxels, and how close they come there.</summary>
public readonly record struct Proximity(Point3 Block, ulong Label, int Distance);

/// <summary>DVID's <c>proximity</c>: per shared block, the least Euclidean voxel distance between a target and other labels.</summary>
public sealed partial class LabelVolume
{
    /// <summary>
    /// For each block that <paramref name="target"/>'s index shares with one of <paramref name="others"/>' indices, the
    /// least distance (in voxels, truncated to an integer) from a voxel of the target to a voxel of the other label in
    /// that block; blocks in z, y, x order, labels in the order given. Null when any of the labels does not exist.
    /// As DVID notes, labels that meet only across a block face are not found.
    /// </summary>
    public Task<List<Proximity>?> ProximityAsync(ulong target, IReadOnlyList<ulong> others, CancellationToken ct = default)
        => ReadConsistentAsync<List<Proximity>?>(async () =>
        {
            RequireIndex();
            if (await GetIndexAsync(target, ct) is not { } t) return null;
            var indices = new List<LabelIndex>();
            foreach (var o in others)
            {
                if (await GetIndexAsync(o, ct) is not { } idx) return null;
                indices.Add(idx);
            }
            var bs = BlockSize;
            var buffer = new byte[Volume.BlockBytes];
            var result = new List<Proximity>();
            foreach (var (block, targetSvs) in t.Blocks.OrderBy(b => b.Key.Z).ThenBy(b => b.Key.Y).ThenBy(b => b.Key.X))
            {
                var sharing = Enumerable.Range(0, indices.Count).Where(i => indices[i].Blocks.ContainsKey(block)).ToList();
                if (sharing.Count == 0 || !await Volume.TryReadBlockAsync(block, buffer, ct)) continue;
                var labels = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan()).ToArray();
                var d2 = DistanceTransform.SquaredToNearest(bs.X, bs.Y, bs.Z, i => targetSvs.ContainsKey(labels[i]));
                foreach (int i in sharing)
                {
                    var svs = indices[i].Blocks[block];
                    double best = double.PositiveInfinity;
                    for (int v = 0; v < labels.Length; v++)
                        if (d2[v] < best && svs.ContainsKey(labels[v])) best = d2[v];
                    if (!double.IsPositiveInfinity(best)) result.Add(new Proximity(block, others[i], (int)Math.Sqrt(best)));
                }
            }
            return result;
        }, ct);
}
