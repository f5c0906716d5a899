using static Diced.Storage.RocksDbNative;

namespace Diced.Storage;

/// <summary>A RocksDB snapshot as a read-only store: reads see the database as it was when the snapshot was taken.</summary>
internal sealed class RocksDbSnapshot : IKeyValueSnapshot
{
    private readonly RocksDbKeyValueStore _db;
    private readonly nint _snapshot, _readOptions;
    private int _disposed;

    public RocksDbSnapshot(RocksDbKeyValueStore db)
    {
        _db = db;
        _snapshot = db.CreateSnapshot();
        _readOptions = rocksdb_readoptions_create();
        rocksdb_readoptions_set_snapshot(_readOptions, _snapshot);
    }

    public string Description => _db.Description + " (snapshot)";

    public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) => _db.GetCore(key, _readOptions);

    public ValueTask<bool> ReadAsync<TState>(ReadOnlyMemory<byte> key, TState state, System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct = default)
        => _db.ReadCore(key, state, reader, _readOptions);

    public IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false, CancellationToken ct = default)
        => _db.ScanCore(start, end, keysOnly, _snapshot, ct);

    public async ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => await GetAsync(key, ct) is { } v ? new TaggedValue(v, LocalConditionalWrites.TagOf(v)) : null;

    private static NotSupportedException ReadOnly() => new("a snapshot is read-only");
    public ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default) => throw ReadOnly();
    public ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default) => throw ReadOnly();
    public ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) => throw ReadOnly();
    public ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default) => throw ReadOnly();
    public ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default) => throw ReadOnly();
    public ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default) => throw ReadOnly();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _db.ReleaseSnapshot(_snapshot);
        rocksdb_readoptions_destroy(_readOptions);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
