namespace Diced.Storage;

/// <summary>An ordered key-value backend: point reads and writes, atomic batches and ordered range scans.</summary>
/// <remarks>
/// Keys compare bytewise (unsigned, shorter prefix first). Every method is asynchronous so that object
/// stores (S3, GCS) fit behind the same interface as the embedded database. A completed write is durable.
/// </remarks>
public interface IKeyValueStore : IAsyncDisposable
{
    /// <summary>Human-readable description, e.g. <c>rocksdb @ /data</c>.</summary>
    string Description { get; }

    /// <summary>
    /// True when other processes may write the same store (object stores shared by several servers): cached
    /// metadata must then be refreshed and written with <see cref="PutIfAsync"/>.
    /// </summary>
    bool IsShared => false;

    /// <summary>How many point reads a caller should have in flight at once (1 for local stores: they are CPU-bound).</summary>
    int ReadParallelism => 1;

    /// <summary>The value of <paramref name="key"/> with its version tag, or null when absent.</summary>
    ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default);

    /// <summary>
    /// Stores <paramref name="value"/> only if the key's current tag is <paramref name="expectedTag"/> (null: only if
    /// the key is absent). Returns the new tag, or null when the precondition failed and nothing was written.
    /// </summary>
    ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default);

    /// <summary>The value stored under <paramref name="key"/>, or null.</summary>
    ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default);

    /// <summary>
    /// Calls <paramref name="reader"/> with the value of <paramref name="key"/> without copying it where the backend
    /// allows (the span is valid only during the call). Returns false when the key is absent.
    /// </summary>
    ValueTask<bool> ReadAsync<TState>(ReadOnlyMemory<byte> key, TState state, System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct = default)
        => ReadByCopyAsync(this, key, state, reader, ct);

    /// <summary>The copying fallback of <see cref="ReadAsync{TState}"/>.</summary>
    protected static async ValueTask<bool> ReadByCopyAsync<TState>(IKeyValueStore store, ReadOnlyMemory<byte> key, TState state,
        System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct)
    {
        var value = await store.GetAsync(key, ct);
        if (value is null) return false;
        reader(value, state);
        return true;
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing any value.</summary>
    ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default);

    /// <summary>Removes <paramref name="key"/>; absent keys are not an error.</summary>
    ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default);

    /// <summary>Applies every operation of <paramref name="batch"/> atomically: all or none survive a crash.</summary>
    ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default);

    /// <summary>Entries with <paramref name="start"/> ≤ key &lt; <paramref name="end"/>, in ascending key order.</summary>
    IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false, CancellationToken ct = default);

    /// <summary>Removes every key with <paramref name="start"/> ≤ key &lt; <paramref name="end"/>.</summary>
    ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default);
}

/// <summary>One stored entry returned by a scan. <see cref="Value"/> is empty for key-only scans; <see cref="Tag"/> is set
/// where the backend reports version tags in listings (object stores).</summary>
public readonly record struct KeyValue(byte[] Key, byte[] Value, string? Tag = null);

/// <summary>A value and its version tag: an opaque string that identifies the stored content.</summary>
public sealed record TaggedValue(byte[] Value, string Tag);

/// <summary>Conditional writes for stores owned by one process: striped locks and content-hash tags.</summary>
public sealed class LocalConditionalWrites
{
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 256).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public static string TagOf(ReadOnlySpan<byte> value) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(value)[..16]);

    public async ValueTask<TaggedValue?> GetTaggedAsync(IKeyValueStore store, ReadOnlyMemory<byte> key, CancellationToken ct)
    {
        var v = await store.GetAsync(key, ct);
        return v is null ? null : new TaggedValue(v, TagOf(v));
    }

    public async ValueTask<string?> PutIfAsync(IKeyValueStore store, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct)
    {
        var hash = new HashCode();
        hash.AddBytes(key.Span);
        var gate = _locks[(int)((uint)hash.ToHashCode() % _locks.Length)];
        await gate.WaitAsync(ct);
        try
        {
            var current = await store.GetAsync(key, ct);
            var currentTag = current is null ? null : TagOf(current);
            if (currentTag != expectedTag) return null;
            await store.PutAsync(key, value, ct);
            return TagOf(value.Span);
        }
        finally { gate.Release(); }
    }
}

/// <summary>A list of puts and deletes applied atomically by <see cref="IKeyValueStore.WriteAsync"/>.</summary>
public sealed class WriteBatch
{
    private readonly List<(byte[] Key, byte[]? Value)> _ops = new();

    /// <summary>Operations in order; a null value is a delete.</summary>
    public IReadOnlyList<(byte[] Key, byte[]? Value)> Operations => _ops;

    public int Count => _ops.Count;

    public WriteBatch Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _ops.Add((key.ToArray(), value.ToArray()));
        return this;
    }

    /// <summary>Adds a put that takes ownership of both arrays (no copy).</summary>
    public WriteBatch PutOwned(byte[] key, byte[] value)
    {
        _ops.Add((key, value));
        return this;
    }

    public WriteBatch Delete(ReadOnlySpan<byte> key)
    {
        _ops.Add((key.ToArray(), null));
        return this;
    }
}
