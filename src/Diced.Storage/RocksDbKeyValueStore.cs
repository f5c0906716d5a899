using RocksDbSharp;

namespace Diced.Storage;

/// <summary>The embedded on-disk backend: a RocksDB database in one directory.</summary>
/// <remarks>
/// Every write goes through RocksDB's write-ahead log before it is acknowledged, so a killed process loses
/// nothing it acknowledged. With <see cref="RocksDbOptions.SyncWrites"/> the log is also fsynced, which
/// covers power loss at the cost of one fsync per write (concurrent writers share it through group commit).
/// </remarks>
public sealed class RocksDbKeyValueStore : IKeyValueStore
{
    private readonly RocksDb _db;
    private readonly WriteOptions _writeOptions;
    private readonly string _path;
    private int _disposed;

    public RocksDbKeyValueStore(string path, RocksDbOptions? options = null)
    {
        options ??= new RocksDbOptions();
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(_path);
        var table = new BlockBasedTableOptions()
            .SetBlockCache(Cache.CreateLru((ulong)options.BlockCacheBytes))
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetBlockSize(16 * 1024);
        var dbOptions = new DbOptions()
            .SetCreateIfMissing(true)
            .SetBlockBasedTableFactory(table)
            .SetCompression(Compression.No) // values arrive compressed by Diced's own codecs
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount))
            .SetMaxBackgroundCompactions(2)
            .SetKeepLogFileNum(2)
            .SetWriteBufferSize((ulong)options.WriteBufferBytes);
        _db = RocksDb.Open(dbOptions, _path);
        _writeOptions = new WriteOptions().SetSync(options.SyncWrites);
    }

    public string Description => $"rocksdb @ {_path}";

    public ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => ValueTask.FromResult<byte[]?>(_db.Get(key.Span));

    public ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default)
    {
        _db.Put(key.Span, value.Span, null, _writeOptions);
        return ValueTask.CompletedTask;
    }

    public ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
    {
        _db.Remove(key.Span, null, _writeOptions);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default)
    {
        using var wb = new RocksDbSharp.WriteBatch();
        foreach (var (k, v) in batch.Operations)
        {
            if (v is null) wb.Delete(k);
            else wb.Put(k, v);
        }
        _db.Write(wb, _writeOptions);
        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var readOptions = new ReadOptions();
        if (end.Length > 0) readOptions.SetIterateUpperBound(end.ToArray());
        using var it = _db.NewIterator(null, readOptions);
        it.Seek(start.ToArray());
        while (it.Valid())
        {
            ct.ThrowIfCancellationRequested();
            yield return new KeyValue(it.Key(), keysOnly ? Array.Empty<byte>() : it.Value());
            it.Next();
        }
        await Task.CompletedTask;
        GC.KeepAlive(readOptions);
    }

    public ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default)
    {
        var endKey = end.Length > 0 ? end.ToArray() : Enumerable.Repeat((byte)0xFF, 64).ToArray();
        using var wb = new RocksDbSharp.WriteBatch();
        wb.DeleteRange(start.ToArray(), (ulong)start.Length, endKey, (ulong)endKey.Length);
        _db.Write(wb, _writeOptions);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _db.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Tuning of the embedded RocksDB backend.</summary>
public sealed record RocksDbOptions
{
    /// <summary>fsync the write-ahead log on every write (power-loss durability). Process crashes are covered either way.</summary>
    public bool SyncWrites { get; init; }
    public long BlockCacheBytes { get; init; } = 256L << 20;
    public long WriteBufferBytes { get; init; } = 64L << 20;
}
