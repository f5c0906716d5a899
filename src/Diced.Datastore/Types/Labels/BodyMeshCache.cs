using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>
/// Built body meshes, per label instance, version and body, within a byte budget (least recently used go first). An
/// entry serves while its body's label index is unchanged (fingerprint) and no voxel write touched its blocks since it
/// was built: each label instance's follower drops those entries when a write commits, and a mesh built while a write
/// committed is not kept.
/// </summary>
public sealed class BodyMeshCache(long budgetBytes = 256L << 20)
{
    private sealed record Entry(BodyMesh Mesh, long Generation)
    {
        public long LastUse;
    }

    private sealed class Scope
    {
        public readonly Dictionary<(ulong Body, bool Supervoxels), Entry> Entries = new();
        public long Generation;
    }

    private readonly Dictionary<(uint Instance, uint Version), Scope> _scopes = new();
    private readonly object _sync = new();
    private long _bytes, _clock;

    /// <summary>The mesh of <paramref name="body"/>, from the cache when still current, else built (and kept).</summary>
    public async Task<BodyMesh?> GetAsync(LabelVolume labels, ulong body, bool supervoxels, int maxTriangles, CancellationToken ct)
    {
        var key = (labels.Data.Instance.InstanceId, labels.Data.WriteVersion);
        var fingerprint = await labels.IndexFingerprintAsync(body, supervoxels, ct);
        if (fingerprint is null) return null;
        long generation;
        lock (_sync)
        {
            var scope = ScopeOf(key);
            if (scope.Entries.TryGetValue((body, supervoxels), out var e) && e.Mesh.Fingerprint.AsSpan().SequenceEqual(fingerprint))
            {
                e.LastUse = ++_clock;
                return e.Mesh;
            }
            generation = scope.Generation;
        }
        var mesh = await labels.BodyMeshAsync(body, supervoxels, maxTriangles, ct);
        if (mesh is null) return null;
        lock (_sync)
        {
            var scope = ScopeOf(key);
            if (scope.Generation != generation) return mesh; // a write committed meanwhile: serve, do not keep
            if (scope.Entries.Remove((body, supervoxels), out var old)) _bytes -= old.Mesh.Mesh.Length;
            scope.Entries[(body, supervoxels)] = new Entry(mesh, generation) { LastUse = ++_clock };
            _bytes += mesh.Mesh.Length;
            Evict();
        }
        return mesh;
    }

    private Scope ScopeOf((uint, uint) key)
    {
        if (!_scopes.TryGetValue(key, out var s)) _scopes[key] = s = new Scope();
        return s;
    }

    private void Evict()
    {
        while (_bytes > budgetBytes)
        {
            var (scope, k, e) = _scopes.Values.SelectMany(s => s.Entries.Select(kv => (s, kv.Key, kv.Value))).MinBy(x => x.Value.LastUse);
            scope.Entries.Remove(k);
            _bytes -= e.Mesh.Mesh.Length;
        }
    }

    /// <summary>Drops the entries of an instance's version whose blocks meet <paramref name="blocks"/>.</summary>
    private void Invalidate((uint, uint) key, IReadOnlyCollection<Point3> blocks)
    {
        lock (_sync)
        {
            if (!_scopes.TryGetValue(key, out var scope)) return;
            scope.Generation++;
            var touched = blocks as IReadOnlySet<Point3> ?? blocks.ToHashSet();
            foreach (var (k, e) in scope.Entries.Where(kv => kv.Value.Mesh.Blocks.Any(touched.Contains)).ToList())
            {
                scope.Entries.Remove(k);
                _bytes -= e.Mesh.Mesh.Length;
            }
        }
    }

    /// <summary>The follower that keeps this cache current for one label instance at one version.</summary>
    public ILabelFollower FollowerFor(VersionedData labels) => new Follower(this, (labels.Instance.InstanceId, labels.WriteVersion));

    private sealed class Follower(BodyMeshCache cache, (uint, uint) key) : ILabelFollower
    {
        public bool UsesBodies => false; // only the blocks matter
        public Task VoxelsChangedAsync(Transaction tx, LabelVolume labels, IReadOnlyCollection<Point3> blocks, Func<ulong, ulong> bodyOf, CancellationToken ct)
        {
            var copy = blocks.ToHashSet();
            tx.AfterCommit(() => cache.Invalidate(key, copy));
            return Task.CompletedTask;
        }

        // Merges, cleaves and mapping changes change the bodies' label indices, so their fingerprints no longer match.
        public Task BodiesMergedAsync(Transaction tx, ulong target, IReadOnlyCollection<ulong> merged, CancellationToken ct) => Task.CompletedTask;

        public Task SupervoxelsMovedAsync(Transaction tx, ulong from, ulong to, IReadOnlySet<ulong> supervoxels, CancellationToken ct) => Task.CompletedTask;
    }
}
