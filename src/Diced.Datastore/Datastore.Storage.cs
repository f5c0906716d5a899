using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore;

/// <summary>The bytes one version of an instance keeps: its own entries (values, tombstones) and change records.</summary>
public sealed record VersionStorage(uint VersionId, string? Uuid, long Keys, long Bytes);

/// <summary>The bytes an instance keeps in its store, in all and per version that wrote them.</summary>
public sealed record InstanceStorage(string Name, string TypeName, long Keys, long Bytes, IReadOnlyList<VersionStorage> Versions);

/// <summary>Storage accounting: what each instance and version of a repo keeps in its store.</summary>
public sealed partial class Datastore
{
    private readonly SemaphoreSlim _storageScans = new(1, 1);

    /// <summary>
    /// Per instance of <paramref name="repo"/> (name order; instances on stores this server lacks are left out), the
    /// keys and bytes of every entry, attributed to the version that wrote it; a version no node names any more (a
    /// deletion under way) has no UUID. Bytes are logical: the binary key plus the value's size as the backend keeps it
    /// (before RocksDB's own compression; S3/GCS object names are longer than keys). Reads every key's size, not the
    /// values where the backend can help it (RocksDB iterators, S3/GCS listings); one instance is counted at a time per server.
    /// </summary>
    public async IAsyncEnumerable<InstanceStorage> StorageAsync(Repo repo, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var nodes = repo.State.Nodes;
        foreach (var inst in repo.State.Instances.Values.Where(Stores.Has).OrderBy(i => i.Name, StringComparer.Ordinal).ToList())
        {
            // One instance's scan at a time per server; the permit is not held while the caller writes the answer.
            SortedDictionary<uint, (long Keys, long Bytes)> perVersion;
            await _storageScans.WaitAsync(ct);
            try { perVersion = await CountAsync(inst, ct); }
            finally { _storageScans.Release(); }
            var versions = perVersion.Select(v => new VersionStorage(v.Key, nodes.TryGetValue(v.Key, out var n) ? n.Uuid : null, v.Value.Keys, v.Value.Bytes)).ToList();
            yield return new InstanceStorage(inst.Name, inst.TypeName, versions.Sum(v => v.Keys), versions.Sum(v => v.Bytes), versions);
        }
    }

    /// <summary>Keys and bytes (binary key plus stored value size) per version of one instance's entries and change records.</summary>
    private async Task<SortedDictionary<uint, (long Keys, long Bytes)>> CountAsync(InstanceRecord inst, CancellationToken ct)
    {
        var store = Stores.Of(inst);
        var perVersion = new SortedDictionary<uint, (long Keys, long Bytes)>();
        void Add(uint version, KeySize ks)
        {
            var (keys, bytes) = perVersion.GetValueOrDefault(version);
            perVersion[version] = (keys + 1, bytes + ks.Key.Length + ks.Size);
        }
        var data = DataKeys.InstancePrefix(inst.InstanceId);
        await foreach (var ks in store.ScanSizesAsync(data, KeyOrder.PrefixEnd(data), ct)) Add(DataKeys.VersionOf(ks.Key), ks);
        var changes = DataKeys.ChangesOf(inst.InstanceId);
        await foreach (var ks in store.ScanSizesAsync(changes, KeyOrder.PrefixEnd(changes), ct)) Add(DataKeys.VersionOfChange(ks.Key), ks);
        return perVersion;
    }
}
