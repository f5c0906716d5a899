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

    /// <summary>Applies every operation of <paramref name="batch"/> atomically: all or none survive a crash. The batch's
    /// conditions are not checked (use <see cref="TryWriteAsync"/>).</summary>
    ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default);

    /// <summary>
    /// Applies <paramref name="batch"/> atomically if each of its <see cref="WriteBatch.Conditions"/> holds (the key's
    /// current tag is the expected one); otherwise writes nothing and returns false. Without conditions it is
    /// <see cref="WriteAsync"/>. On local stores conditional batches exclude each other and conditional puts on the same
    /// keys; object stores write the conditional keys one by one and undo them if a later condition fails, so a
    /// concurrent reader may see a batch's writes before it is decided (callers serialise batches on the same keys).
    /// </summary>
    ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default);

    /// <summary>Entries with <paramref name="start"/> ≤ key &lt; <paramref name="end"/>, in ascending key order.</summary>
    IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false, CancellationToken ct = default);

    /// <summary>
    /// Keys with <paramref name="start"/> ≤ key &lt; <paramref name="end"/>, in ascending order, each with the bytes its
    /// value takes in the backend (the value's length; an object's size). Backends that can answer without reading
    /// values (iterators, listings) do; the default reads them.
    /// </summary>
    async IAsyncEnumerable<KeySize> ScanSizesAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var kv in ScanAsync(start, end, keysOnly: false, ct)) yield return new KeySize(kv.Key, kv.Value.Length);
    }

    /// <summary>
    /// A read-only view of the store as it is now, which later writes do not change (RocksDB snapshots), so that a
    /// reader of many keys sees each batch whole or not at all; null where the backend offers none. Dispose it.
    /// </summary>
    IKeyValueSnapshot? OpenSnapshot() => null;

    /// <summary>Removes every key with <paramref name="start"/> ≤ key &lt; <paramref name="end"/>.</summary>
    ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default);
}

/// <summary>One stored entry returned by a scan. <see cref="Value"/> is empty for key-only scans; <see cref="Tag"/> is set
/// where the backend reports version tags in listings (object stores).</summary>
public readonly record struct KeyValue(byte[] Key, byte[] Value, string? Tag = null);

/// <summary>A stored key and the bytes its value takes (<see cref="IKeyValueStore.ScanSizesAsync"/>).</summary>
public readonly record struct KeySize(byte[] Key, long Size);

/// <summary>A value and its version tag: an opaque string that identifies the stored content.</summary>
public sealed record TaggedValue(byte[] Value, string Tag);

/// <summary>A frozen, read-only view of a store (<see cref="IKeyValueStore.OpenSnapshot"/>); its writes throw.</summary>
public interface IKeyValueSnapshot : IKeyValueStore, IDisposable;
