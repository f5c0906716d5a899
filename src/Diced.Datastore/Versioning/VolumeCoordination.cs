using System.Collections.Concurrent;

namespace Diced.Datastore.Versioning;

/// <summary>
/// In-process coordination of block read-modify-writes: striped locks per (instance, version, block), per-version
/// locks for small records such as extents, and a cache of those records (a version's record only changes by
/// writes at that version, and versions with children are locked, so a cached record is never stale).
/// </summary>
public sealed class VolumeCoordination
{
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 4096).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ConcurrentDictionary<(uint Instance, uint Version, string Name), SemaphoreSlim> _recordLocks = new();
    private readonly ConcurrentDictionary<(uint Instance, uint Version, string Name), object> _records = new();

    /// <summary>The lock of one block of one instance at one version.</summary>
    public SemaphoreSlim BlockLock(uint instance, uint version, long blockHash)
    {
        ulong h = (ulong)blockHash * 0x9E3779B97F4A7C15UL ^ ((ulong)instance << 32 | version) * 0xC2B2AE3D27D4EB4FUL;
        return _stripes[(int)(h >> 52)];
    }

    public SemaphoreSlim RecordLock(uint instance, uint version, string name)
        => _recordLocks.GetOrAdd((instance, version, name), _ => new SemaphoreSlim(1, 1));

    public bool TryGetRecord<T>(uint instance, uint version, string name, out T? value) where T : class
    {
        var found = _records.TryGetValue((instance, version, name), out var v);
        value = v as T;
        return found;
    }

    public void SetRecord(uint instance, uint version, string name, object? value) => _records[(instance, version, name)] = value!;
}
