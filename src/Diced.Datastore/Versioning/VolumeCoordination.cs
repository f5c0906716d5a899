using System.Collections.Concurrent;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Versioning;

/// <summary>
/// In-process coordination of writes to volumes: striped locks per (instance, version, block), taken in one
/// order so that writes of many blocks never deadlock; per-version locks for small records such as extents; a
/// <see cref="VersionStamp"/> per instance and version; and a cache of per-version records (a version's record
/// only changes by writes at that version, and versions with children are locked, so a cached record is never stale).
/// </summary>
public sealed class VolumeCoordination
{
    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 4096).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ConcurrentDictionary<(uint Instance, uint Version, string Name), SemaphoreSlim> _recordLocks = new();
    private readonly ConcurrentDictionary<(uint Instance, uint Version, string Name), object> _records = new();
    private readonly ConcurrentDictionary<(uint Instance, uint Version), VersionStamp> _stamps = new();

    private static int StripeOf(uint instance, uint version, byte blockClass, Point3 b)
    {
        long blockHash = ((long)b.Z * 73856093) ^ ((long)b.Y * 19349663) ^ ((long)b.X * 83492791) ^ blockClass;
        ulong h = (ulong)blockHash * 0x9E3779B97F4A7C15UL ^ ((ulong)instance << 32 | version) * 0xC2B2AE3D27D4EB4FUL;
        return (int)(h >> 52);
    }

    /// <summary>
    /// Locks the given blocks of one instance at one version (and block class) until the result is disposed. Stripes
    /// are taken in ascending order, so writers of overlapping block sets wait for each other and never deadlock.
    /// </summary>
    public Task<IDisposable> LockBlocksAsync(uint instance, uint version, byte blockClass, IEnumerable<Point3> blocks, CancellationToken ct)
        => LockBlocksAsync(instance, version, blocks.Select(b => (blockClass, b)), ct);

    /// <summary>Locks blocks of several classes (the levels of a pyramid) at once, in the same single order.</summary>
    public async Task<IDisposable> LockBlocksAsync(uint instance, uint version, IEnumerable<(byte Class, Point3 Block)> blocks, CancellationToken ct)
    {
        var stripes = blocks.Select(b => StripeOf(instance, version, b.Class, b.Block)).Distinct().Order().ToArray();
        int taken = 0;
        try
        {
            for (; taken < stripes.Length; taken++) await _stripes[stripes[taken]].WaitAsync(ct);
        }
        catch
        {
            for (int i = taken - 1; i >= 0; i--) _stripes[stripes[i]].Release();
            throw;
        }
        return new Release(() =>
        {
            for (int i = stripes.Length - 1; i >= 0; i--) _stripes[stripes[i]].Release();
        });
    }

    public SemaphoreSlim RecordLock(uint instance, uint version, string name)
        => _recordLocks.GetOrAdd((instance, version, name), _ => new SemaphoreSlim(1, 1));

    /// <summary>Takes a record lock until the result is disposed.</summary>
    public async Task<IDisposable> LockRecordAsync(uint instance, uint version, string name, CancellationToken ct)
    {
        var gate = RecordLock(instance, version, name);
        await gate.WaitAsync(ct);
        return new Release(() => gate.Release());
    }

    /// <summary>The commit counter of one instance at one version.</summary>
    public VersionStamp Stamp(uint instance, uint version) => _stamps.GetOrAdd((instance, version), _ => new VersionStamp());

    public bool TryGetRecord<T>(uint instance, uint version, string name, out T? value) where T : class
    {
        var found = _records.TryGetValue((instance, version, name), out var v);
        value = v as T;
        return found;
    }

    public void SetRecord(uint instance, uint version, string name, object? value) => _records[(instance, version, name)] = value!;

    /// <summary>Caches a record read from the store unless a newer one was cached meanwhile.</summary>
    public void TryAddRecord(uint instance, uint version, string name, object? value) => _records.TryAdd((instance, version, name), value!);

    private sealed class Release(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) release();
        }
    }
}
