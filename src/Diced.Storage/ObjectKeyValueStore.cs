using System.Text.Json;

namespace Diced.Storage;

/// <summary>
/// An ordered key-value store over an object store (S3, GCS): one object per key named <c>prefix/k/&lt;hex of key&gt;</c>
/// so that the service's lexicographic listing is the store's key order. Batches (in <c>ObjectKeyValueStore.Batches.cs</c>)
/// are made atomic against crashes with journal objects (<c>prefix/t/…</c>). Subclasses supply the object operations.
/// </summary>
public abstract partial class ObjectKeyValueStore : IKeyValueStore
{
    private readonly SemaphoreSlim _requests;
    private long _requestCount, _bytesPut;

    protected ObjectKeyValueStore(string prefix, int parallelism)
    {
        Prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        DataPrefix = Prefix + "k/";
        JournalPrefix = Prefix + "t/";
        Parallelism = Math.Max(1, parallelism);
        _requests = new SemaphoreSlim(Parallelism); // requests in flight to the service, all callers together
    }

    protected string Prefix { get; }
    protected string DataPrefix { get; }
    protected string JournalPrefix { get; }
    protected int Parallelism { get; }

    public abstract string Description { get; }
    public bool IsShared => true;
    public int ReadParallelism => Parallelism;

    /// <summary>Object requests made so far (for benchmarks).</summary>
    public long RequestCount => Interlocked.Read(ref _requestCount);

    /// <summary>Bytes sent by unconditional PUTs so far, journals included (for benchmarks).</summary>
    public long BytesPut => Interlocked.Read(ref _bytesPut);

    // ---- what a service must provide

    /// <summary>The object's content and version tag, or null when absent.</summary>
    protected abstract Task<TaggedValue?> GetObjectAsync(string name, CancellationToken ct);

    /// <summary>Writes an object. <paramref name="conditional"/>: only if its tag is <paramref name="expectedTag"/> (null:
    /// only if absent); returns the new tag, or null when that precondition failed.</summary>
    protected abstract Task<string?> PutObjectAsync(string name, byte[] data, bool conditional, string? expectedTag, CancellationToken ct);

    /// <summary>Removes an object; absent objects are not an error.</summary>
    protected abstract Task DeleteObjectAsync(string name, CancellationToken ct);

    /// <summary>Pages of (name, tag) under <paramref name="prefix"/> in name order, from <paramref name="startAt"/> (inclusive).</summary>
    protected abstract IAsyncEnumerable<List<(string Name, string Tag, long Size)>> ListPagesAsync(string prefix, string? startAt, CancellationToken ct);

    /// <summary>Hands an object's bytes to <paramref name="reader"/>; false when absent (services override this to read
    /// into pooled memory).</summary>
    protected virtual async Task<bool> ReadObjectAsync<TState>(string name, TState state, System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct)
    {
        if (await GetObjectAsync(name, ct) is not { } v) return false;
        reader(v.Value, state);
        return true;
    }

    /// <summary>Removes many objects (services with batch deletes override this).</summary>
    protected virtual async Task DeleteObjectsAsync(IReadOnlyList<string> names, CancellationToken ct)
        => await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            async (n, token) => await Limit(() => DeleteObjectAsync(n, token), token));

    // ---- the store

    /// <summary>Bounds the requests in flight to this service and counts them.</summary>
    protected async Task<T> Limit<T>(Func<Task<T>> request, CancellationToken ct)
    {
        await _requests.WaitAsync(ct);
        Interlocked.Increment(ref _requestCount);
        try { return await request(); }
        finally { _requests.Release(); }
    }

    protected async Task Limit(Func<Task> request, CancellationToken ct) => await Limit(async () => { await request(); return true; }, ct);

    /// <summary>The object name of a key: hex keeps the listing order equal to bytewise key order.</summary>
    public string ObjectName(ReadOnlySpan<byte> key) => DataPrefix + Convert.ToHexStringLower(key);

    private byte[] KeyOf(string objectName) => Convert.FromHexString(objectName.AsSpan(DataPrefix.Length));

    public async ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => (await GetTaggedAsync(key, ct))?.Value;

    public async ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
    {
        var name = ObjectName(key.Span);
        return await Limit(() => GetObjectAsync(name, ct), ct);
    }

    public async ValueTask<bool> ReadAsync<TState>(ReadOnlyMemory<byte> key, TState state, System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct = default)
    {
        var name = ObjectName(key.Span);
        return await Limit(() => ReadObjectAsync(name, state, reader, ct), ct);
    }

    public async ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default)
        => await Put(ObjectName(key.Span), value.ToArray(), ct);

    private Task<string?> Put(string name, byte[] data, CancellationToken ct)
    {
        Interlocked.Add(ref _bytesPut, data.Length);
        return Limit(() => PutObjectAsync(name, data, false, null, ct), ct);
    }

    public async ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default)
    {
        var name = ObjectName(key.Span);
        var data = value.ToArray();
        return await Limit(() => PutObjectAsync(name, data, true, expectedTag, ct), ct);
    }

    public async ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
    {
        var name = ObjectName(key.Span);
        await Limit(() => DeleteObjectAsync(name, ct), ct);
    }

    public async IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var startName = ObjectName(start.Span);
        var endName = end.Length > 0 ? ObjectName(end.Span) : null;
        await foreach (var page in ListPagesAsync(DataPrefix, start.Length > 0 ? startName : null, ct))
        {
            var names = new List<string>(page.Count);
            var tags = new List<string>(page.Count);
            bool done = false;
            foreach (var (n, tag, _) in page)
            {
                if (string.CompareOrdinal(n, startName) < 0) continue;
                if (endName is not null && string.CompareOrdinal(n, endName) >= 0) { done = true; break; }
                names.Add(n);
                tags.Add(tag);
            }
            if (keysOnly)
            {
                for (int i = 0; i < names.Count; i++) yield return new KeyValue(KeyOf(names[i]), Array.Empty<byte>(), tags[i]);
            }
            else
            {
                // Fetch the page's values in parallel, yield them in key order; a key deleted meanwhile is skipped.
                var values = new TaggedValue?[names.Count];
                await Parallel.ForAsync(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
                    async (i, token) => values[i] = await Limit(() => GetObjectAsync(names[i], token), token));
                for (int i = 0; i < names.Count; i++)
                    if (values[i] is { } v) yield return new KeyValue(KeyOf(names[i]), v.Value, v.Tag);
            }
            if (done) yield break;
        }
    }

    /// <summary>Sizes from the listing: no object is read.</summary>
    public async IAsyncEnumerable<KeySize> ScanSizesAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var startName = ObjectName(start.Span);
        var endName = end.Length > 0 ? ObjectName(end.Span) : null;
        await foreach (var page in ListPagesAsync(DataPrefix, start.Length > 0 ? startName : null, ct))
            foreach (var (n, _, size) in page)
            {
                if (string.CompareOrdinal(n, startName) < 0) continue;
                if (endName is not null && string.CompareOrdinal(n, endName) >= 0) yield break;
                yield return new KeySize(KeyOf(n), size);
            }
    }

    public async ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default)
    {
        var batch = new List<string>(1000);
        await foreach (var kv in ScanAsync(start, end, keysOnly: true, ct))
        {
            batch.Add(ObjectName(kv.Key));
            if (batch.Count == 1000)
            {
                await DeleteObjectsAsync(batch.ToList(), ct);
                batch.Clear();
            }
        }
        if (batch.Count > 0) await DeleteObjectsAsync(batch, ct);
    }

    public abstract ValueTask DisposeAsync();
}
