namespace Diced.Storage;

/// <summary>An in-process ordered store; nothing survives the process. For tests and scratch servers.</summary>
public sealed class MemoryKeyValueStore : IKeyValueStore
{
    private readonly SortedList<byte[], byte[]> _data = new(KeyOrder.Comparer);
    private readonly ReaderWriterLockSlim _lock = new();

    private readonly LocalConditionalWrites _conditional = new();

    public ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) => _conditional.GetTaggedAsync(this, key, ct);

    public ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default)
        => _conditional.PutIfAsync(this, key, value, expectedTag, ct);

    public ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default) => _conditional.TryWriteAsync(this, batch, ct);

    public string Description => "memory";

    public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
    {
        _lock.EnterReadLock();
        try { return ValueTask.FromResult(_data.TryGetValue(key.ToArray(), out var v) ? v : null); }
        finally { _lock.ExitReadLock(); }
    }

    public ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default)
    {
        _lock.EnterWriteLock();
        try { _data[key.ToArray()] = value.ToArray(); }
        finally { _lock.ExitWriteLock(); }
        return ValueTask.CompletedTask;
    }

    public ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
    {
        _lock.EnterWriteLock();
        try { _data.Remove(key.ToArray()); }
        finally { _lock.ExitWriteLock(); }
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default)
    {
        _lock.EnterWriteLock();
        try
        {
            foreach (var (k, v) in batch.Operations)
            {
                if (v is null) _data.Remove(k);
                else _data[k] = v;
            }
        }
        finally { _lock.ExitWriteLock(); }
        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        // Copy the matching slice under the lock, then yield outside it.
        List<KeyValue> slice;
        _lock.EnterReadLock();
        try
        {
            slice = new();
            int i = LowerBound(start.Span);
            for (; i < _data.Count; i++)
            {
                var k = _data.Keys[i];
                if (end.Length > 0 && KeyOrder.Compare(k, end.Span) >= 0) break;
                slice.Add(new KeyValue(k, keysOnly ? Array.Empty<byte>() : _data.Values[i]));
            }
        }
        finally { _lock.ExitReadLock(); }
        foreach (var kv in slice)
        {
            ct.ThrowIfCancellationRequested();
            yield return kv;
        }
        await Task.CompletedTask;
    }

    public ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default)
    {
        _lock.EnterWriteLock();
        try
        {
            int i = LowerBound(start.Span);
            while (i < _data.Count && (end.Length == 0 || KeyOrder.Compare(_data.Keys[i], end.Span) < 0))
                _data.RemoveAt(i);
        }
        finally { _lock.ExitWriteLock(); }
        return ValueTask.CompletedTask;
    }

    private int LowerBound(ReadOnlySpan<byte> key)
    {
        var keys = _data.Keys;
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (KeyOrder.Compare(keys[mid], key) < 0) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
