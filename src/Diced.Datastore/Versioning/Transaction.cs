using System.Collections.Concurrent;
using Diced.Storage;

namespace Diced.Datastore.Versioning;

/// <summary>
/// An atomic group of changes to one instance at one version. Reads see the transaction's own pending writes; the
/// commit stores everything in one batch (one RocksDB write batch, a journaled batch on object stores), so a crash
/// leaves all of it or none. On stores shared with other servers every value read from this version is a
/// precondition of the commit: if another server changed it meanwhile the commit writes nothing and
/// <see cref="VersionedData.WriteAsync{T}"/> runs the transaction again from the start.
/// Locks given to <see cref="Hold"/> are released when the transaction ends, after its commit.
/// </summary>
public sealed class Transaction : IDisposable
{
    private readonly VersionedData _data;
    private readonly ConcurrentDictionary<byte[], byte[]?> _pending = new(ByteArrayEquality.Instance);
    private readonly ConcurrentDictionary<byte[], WriteCondition> _conditions = new(ByteArrayEquality.Instance);
    private readonly List<IDisposable> _held = [];
    private readonly List<Action> _afterCommit = [];
    private readonly Action _exitGate;
    private bool _disposed;

    internal Transaction(VersionedData data, Action exitGate)
    {
        _data = data;
        _exitGate = exitGate;
    }

    public VersionedData Data => _data;

    /// <summary>Type keys written or deleted so far.</summary>
    public int Count => _pending.Count;

    /// <summary>The value visible to this transaction: its own pending write, else what the version holds.</summary>
    public async ValueTask<byte[]?> GetAsync(byte[] tkey, CancellationToken ct = default)
    {
        if (_pending.TryGetValue(tkey, out var pending)) return pending;
        if (!_data.Store.IsShared) return await _data.GetAsync(tkey, ct);
        // Another server may change this version's own value: remember what we saw as a condition of the commit.
        var key = DataKeys.Versioned(_data.Instance.InstanceId, tkey, _data.WriteVersion, DataKeys.ValueMarker);
        var own = await _data.Store.GetTaggedAsync(key, ct);
        _conditions.TryAdd(key, new WriteCondition(key, own?.Tag, own?.Value));
        return own is not null ? own.Value : await _data.GetAsync(tkey, ct);
    }

    /// <summary>
    /// The value visible to this transaction, read without making it a condition of the commit: for records that only
    /// grow (extents, max label), where a reader that finds nothing to change must not conflict with other servers.
    /// </summary>
    public async ValueTask<byte[]?> PeekAsync(byte[] tkey, CancellationToken ct = default)
        => _pending.TryGetValue(tkey, out var pending) ? pending : await _data.GetAsync(tkey, ct);

    /// <summary>Stores <paramref name="value"/> under <paramref name="tkey"/> at this version when the transaction commits.</summary>
    public void Put(byte[] tkey, byte[] value) => _pending[tkey] = value;

    /// <summary>Deletes <paramref name="tkey"/> at this version when the transaction commits (a tombstone where an ancestor holds it).</summary>
    public void Delete(byte[] tkey) => _pending[tkey] = null;

    /// <summary>Keeps <paramref name="resource"/> (a lock) until the transaction ends, after its commit.</summary>
    public void Hold(IDisposable resource)
    {
        lock (_held) _held.Add(resource);
    }

    /// <summary>Runs <paramref name="action"/> (cache updates) right after a successful commit, before locks are released.</summary>
    public void AfterCommit(Action action)
    {
        lock (_afterCommit) _afterCommit.Add(action);
    }

    /// <summary>Stores every pending change in one batch; false (nothing stored) when a condition on a shared store failed.</summary>
    internal async ValueTask<bool> TryCommitAsync()
    {
        if (_pending.IsEmpty) return Committed();
        uint id = _data.Instance.InstanceId, v = _data.WriteVersion;
        var batch = new WriteBatch();
        foreach (var (tkey, value) in _pending)
        {
            var valueKey = DataKeys.Versioned(id, tkey, v, DataKeys.ValueMarker);
            var tombstone = DataKeys.Versioned(id, tkey, v, DataKeys.TombstoneMarker);
            if (value is not null)
            {
                batch.PutOwned(valueKey, value);
                batch.Delete(tombstone);
            }
            else
            {
                batch.Delete(valueKey);
                if (await _data.AncestorHoldsAsync(tkey, CancellationToken.None)) batch.PutOwned(tombstone, []);
                else batch.Delete(tombstone);
            }
        }
        // Once begun, a commit runs to its end even if the client leaves: object stores apply batches in steps.
        if (!_data.Store.IsShared)
        {
            await _data.Store.WriteAsync(batch, CancellationToken.None);
            return Committed();
        }
        foreach (var c in _conditions.Values) batch.Expect(c.Key, c.Tag, c.Current);
        return await _data.Store.TryWriteAsync(batch, CancellationToken.None) && Committed();
    }

    private bool Committed()
    {
        lock (_afterCommit) foreach (var action in _afterCommit) action();
        return true;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_held)
            for (int i = _held.Count - 1; i >= 0; i--) _held[i].Dispose();
        _exitGate();
    }
}

/// <summary>Equality of byte arrays by content (dictionary keys).</summary>
public sealed class ByteArrayEquality : IEqualityComparer<byte[]>
{
    public static readonly ByteArrayEquality Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return h.ToHashCode();
    }
}
