using System.Buffers.Binary;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>Listing labels: the labels that have indices, their sizes, their coarse volumes, where an index was stored.</summary>
public sealed partial class LabelVolume
{
    /// <summary>The labels with an index here (bodies of a labelmap), ascending from <paramref name="start"/>, with their
    /// voxel counts when <paramref name="sizes"/> (otherwise 0).</summary>
    public async IAsyncEnumerable<(ulong Label, ulong Voxels)> ListLabelsAsync(ulong start, long number, bool sizes,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        RequireIndex();
        if (number <= 0) yield break;
        long n = 0;
        await foreach (var (tk, v) in _data.ScanAsync(Key(IndexClass, start), [IndexClass + 1], keysOnly: !sizes, ct))
        {
            ulong label = BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(1));
            yield return (label, sizes ? LabelIndex.Deserialize(v).VoxelCount : 0);
            if (++n >= number) yield break;
        }
    }

    /// <summary>
    /// DVID's <c>sparsevols-coarse</c>: for each label with an index in [<paramref name="start"/>, <paramref name="end"/>],
    /// its blocks (within <paramref name="bounds"/>) as runs along x, in z, y, x order.
    /// </summary>
    public async IAsyncEnumerable<(ulong Label, List<(Point3 Block, int Length)> Runs)> CoarseVolumesAsync(ulong start, ulong end, VoxelBounds bounds,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        RequireIndex();
        var stop = end == ulong.MaxValue ? new byte[] { IndexClass + 1 } : Key(IndexClass, end + 1);
        await foreach (var (tk, v) in _data.ScanAsync(Key(IndexClass, start), stop, false, ct))
        {
            var idx = LabelIndex.Deserialize(v);
            yield return (BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(1)), CoarseRuns(idx, bounds));
        }
    }

    /// <summary>A label's blocks (within <paramref name="bounds"/>) as runs of consecutive blocks along x, in z, y, x order.</summary>
    public List<(Point3 Block, int Length)> CoarseRuns(LabelIndex idx, VoxelBounds bounds)
    {
        var bs = BlockSize;
        var runs = new List<(Point3 Block, int Length)>();
        foreach (var b in idx.Blocks.Keys.Where(b => !bounds.BlockOutside(new Box(b.BlockOrigin(bs), bs))).OrderBy(b => b.Z).ThenBy(b => b.Y).ThenBy(b => b.X))
        {
            if (runs.Count > 0 && runs[^1] is var last && last.Block.Y == b.Y && last.Block.Z == b.Z && last.Block.X + last.Length == b.X)
                runs[^1] = (last.Block, last.Length + 1);
            else runs.Add((b, 1));
        }
        return runs;
    }

    /// <summary>The UUID of the version whose stored index of <paramref name="label"/> is the one seen here; null when none is.</summary>
    public async Task<string?> IndexVersionAsync(ulong label, CancellationToken ct = default)
    {
        RequireIndex();
        return await _data.VisibleVersionAsync(Key(IndexClass, label), ct) is { } v ? _data.Repo.State.Nodes[v].Uuid : null;
    }

    /// <summary>Size of the supervoxel → body mapping cached for this instance in this process (DVID's <c>map-stats</c>).</summary>
    public (long Entries, int Versions, uint MaxVersion) CachedMappingStats()
    {
        long entries = 0;
        int versions = 0;
        uint max = 0;
        foreach (var node in _data.Repo.State.Nodes.Values)
            if (_coord.TryGetRecord<Dictionary<ulong, ulong>>(Id, node.VersionId, MappingRecord, out var m) && m is not null)
            {
                entries += m.Count;
                versions++;
                max = Math.Max(max, node.VersionId);
            }
        return (entries, versions, max);
    }
}
