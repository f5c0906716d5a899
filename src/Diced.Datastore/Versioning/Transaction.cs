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
/// Other instances of the same store at the same version can take part (<see cref="Join"/>): their changes go into
/// the same batch, so a label mutation and the annotation and count records that follow it commit as one.
/// </summary>
public sealed class Transaction : IDisposable
{
    private readonly VersionedData _data;
    private readonly ConcurrentDictionary<byte[], byte[]?> _pending = new(ByteArrayEquality.Instance);
    private readonly ConcurrentDictionary<byte[], WriteCondition> _conditions = new(ByteArrayEquality.Instance);
    private readonly List<IDisposable> _held = [];
    private readonly List<Action> _afterCommit = [];
    private readonly List<Transaction> _joined = [];
    private readonly List<VersionStamp> _stamps = [];
    private readonly Transaction? _root;
    private readonly Action _exitGate;
    private bool _disposed;

    internal Transaction(VersionedData data, Action exitGate, Transaction? root = null)
    {
        _data = data;
        _exitGate = exitGate;
        _root = root;
    }

    /// <summary>
    /// This transaction's part for <paramref name="other"/> (another instance at the same version in the same store):
    /// reads and writes through it commit with this transaction, in one batch. <paramref name="stamp"/>, when given, is
    /// advanced around the commit like the transaction's own, so readers of <paramref name="other"/> see it whole.
    /// </summary>
    public Transaction Join(VersionedData other, VersionStamp? stamp = null)
    {
        if (_root is not null) return _root.Join(other, stamp);
        if (other.Instance.InstanceId == _data.Instance.InstanceId) return this;
        if (!ReferenceEquals(other.Store, _data.Store))
            throw DatastoreException.BadRequest($"data \"{other.Instance.Name}\" and \"{_data.Instance.Name}\" are kept in different stores; instances that follow each other must share one store");
        if (other.WriteVersion != _data.WriteVersion)
            throw DatastoreException.BadRequest($"data \"{other.Instance.Name}\" and \"{_data.Instance.Name}\" are versioned differently; instances that follow each other must both be versioned");
        lock (_joined)
        {
            if (stamp is not null && !_stamps.Contains(stamp)) _stamps.Add(stamp);
            foreach (var j in _joined)
                if (j._data.Instance.InstanceId == other.Instance.InstanceId) return j;
            var part = new Transaction(other, static () => { }, this);
            _joined.Add(part);
            return part;
        }
    }

    /// <summary>Stamps of joined instances, advanced around the commit with the transaction's own.</summary>
    internal IReadOnlyList<VersionStamp> JoinedStamps
    {
        get { lock (_joined) return [.. _stamps]; }
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
        if (_root is not null) { _root.Hold(resource); return; }
        lock (_held) _held.Add(resource);
    }

    /// <summary>Runs <paramref name="action"/> (cache updates) right after a successful commit, before locks are released.</summary>
    public void AfterCommit(Action action)
    {
        if (_root is not null) { _root.AfterCommit(action); return; }
        lock (_afterCommit) _afterCommit.Add(action);
    }

    /// <summary>Stores every pending change in one batch; false (nothing stored) when a condition on a shared store failed.</summary>
    internal async ValueTask<bool> TryCommitAsync()
    {
        if (_root is not null) throw new InvalidOperationException("a joined part commits with its transaction");
        List<Transaction> parts;
        lock (_joined) parts = [this, .. _joined];
        if (parts.All(p => p._pending.IsEmpty)) return Committed();
        var batch = new WriteBatch();
        foreach (var part in parts) await part.AddChangesAsync(batch);
        // Once begun, a commit runs to its end even if the client leaves: object stores apply batches in steps.
        if (!_data.Store.IsShared)
        {
            await _data.Store.WriteAsync(batch, CancellationToken.None);
            return Committed();
        }
        foreach (var part in parts)
            foreach (var c in part._conditions.Values) batch.Expect(c.Key, c.Tag, c.Current);
        return await _data.Store.TryWriteAsync(batch, CancellationToken.None) && Committed();
    }

    /// <summary>Adds this part's writes (values, deletions, tombstones) to <paramref name="batch"/>.</summary>
    private async ValueTask AddChangesAsync(WriteBatch batch)
    {
        uint id = _data.Instance.InstanceId, v = _data.WriteVersion;
        if (!_pending.IsEmpty) batch.PutOwned(DataKeys.NewChange(id, v), ChangeRecords.Encode(_pending.Keys));
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
    }

    private bool Committed()
    {
        lock (_afterCommit) foreach (var action in _afterCommit) action();
        return true;
    }

    public void Dispose()
    {
        if (_disposed || _root is not null) return;
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
