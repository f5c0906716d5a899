using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diced.Storage;

/// <summary>
/// Retries transient backend failures (I/O errors, timeouts, 5xx and throttling answers) with exponential backoff
/// and jitter. A conditional write whose outcome is unknown (the request failed after it may have reached the
/// service) is resolved by reading the key back: if it now holds exactly our value, our write landed.
/// </summary>
public sealed class RetryingKeyValueStore(IKeyValueStore inner, int maxAttempts = 6, TimeSpan? firstDelay = null, ILogger? log = null) : IKeyValueStore
{
    private readonly TimeSpan _firstDelay = firstDelay ?? TimeSpan.FromMilliseconds(50);
    private readonly ILogger _log = log ?? NullLogger.Instance;

    public IKeyValueStore Inner => inner;
    public string Description => inner.Description;
    public bool IsShared => inner.IsShared;
    public int ReadParallelism => inner.ReadParallelism;

    /// <summary>Whether <paramref name="e"/> is worth retrying.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        OperationCanceledException => false,
        TransientStoreException or TimeoutException or IOException or HttpRequestException => true,
        AmazonServiceException a => (int)a.StatusCode >= 500 || (int)a.StatusCode == 429 || a.ErrorCode is "SlowDown" or "RequestTimeout" or "Throttling",
        AmazonClientException => true,
        _ => e.InnerException is { } inner && IsTransient(inner),
    };

    private async Task<T> Retry<T>(string what, Func<Task<T>> op, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try { return await op(); }
            catch (Exception e) when (attempt < maxAttempts && IsTransient(e) && !ct.IsCancellationRequested)
            {
                var delay = _firstDelay * Math.Pow(2, attempt - 1) * (0.5 + Random.Shared.NextDouble());
                _log.LogWarning("{Operation} on {Store} failed ({Error}); retry {Attempt} in {Delay:0} ms", what, inner.Description, e.Message, attempt, delay.TotalMilliseconds);
                await Task.Delay(delay, ct);
            }
        }
    }

    public async ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => await Retry("get", async () => await inner.GetAsync(key, ct), ct);

    public async ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => await Retry("get", async () => await inner.GetTaggedAsync(key, ct), ct);

    public async ValueTask<bool> ReadAsync<TState>(ReadOnlyMemory<byte> key, TState state, System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct = default)
        => await Retry("read", async () => await inner.ReadAsync(key, state, reader, ct), ct);

    public async ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default)
        => await Retry("put", async () => { await inner.PutAsync(key, value, ct); return true; }, ct);

    public async ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default)
    {
        bool uncertain = false;
        return await Retry("conditional put", async () =>
        {
            if (uncertain)
            {
                // The previous attempt may have landed: then the key holds exactly our value.
                var now = await inner.GetTaggedAsync(key, ct);
                if (now is not null && now.Value.AsSpan().SequenceEqual(value.Span)) return now.Tag;
                if (now?.Tag != expectedTag) return null;
            }
            try { return await inner.PutIfAsync(key, value, expectedTag, ct); }
            catch (Exception e) when (IsTransient(e))
            {
                uncertain = true;
                throw;
            }
        }, ct);
    }

    public async ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => await Retry("delete", async () => { await inner.DeleteAsync(key, ct); return true; }, ct);

    public async ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default)
        => await Retry("batch", async () => { await inner.WriteAsync(batch, ct); return true; }, ct);

    /// <summary>Not retried as a whole: a conditional batch that failed part-way has written some keys, and running it
    /// again would see its own writes as another writer's. The backend retries each request of it instead.</summary>
    public ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default) => inner.TryWriteAsync(batch, ct);

    public IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false, CancellationToken ct = default)
        => Resuming(from => inner.ScanAsync(from, end, keysOnly, ct), kv => kv.Key, start, ct);

    public IAsyncEnumerable<KeySize> ScanSizesAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default)
        => Resuming(from => inner.ScanSizesAsync(from, end, ct), ks => ks.Key, start, ct);

    /// <summary>A scan that, after a transient failure, resumes after the last key delivered, so it neither repeats nor skips entries.</summary>
    private async IAsyncEnumerable<T> Resuming<T>(Func<ReadOnlyMemory<byte>, IAsyncEnumerable<T>> scan, Func<T, byte[]> keyOf, ReadOnlyMemory<byte> start,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        byte[]? after = null;
        for (int attempt = 1; ; attempt++)
        {
            var from = after is null ? start : (ReadOnlyMemory<byte>)Successor(after);
            var e = scan(from).GetAsyncEnumerator(ct);
            bool more;
            try
            {
                while (true)
                {
                    try { more = await e.MoveNextAsync(); }
                    catch (Exception ex) when (attempt < maxAttempts && IsTransient(ex) && !ct.IsCancellationRequested)
                    {
                        _log.LogWarning("scan on {Store} failed ({Error}); retry {Attempt}", inner.Description, ex.Message, attempt);
                        await Task.Delay(_firstDelay * Math.Pow(2, attempt - 1), ct);
                        break;
                    }
                    if (!more) yield break;
                    after = keyOf(e.Current);
                    yield return e.Current;
                }
            }
            finally { await e.DisposeAsync(); }
        }
    }

    /// <summary>The smallest key greater than <paramref name="key"/>.</summary>
    private static byte[] Successor(byte[] key) => [.. key, 0];

    public async ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default)
        => await Retry("range delete", async () => { await inner.DeleteRangeAsync(start, end, ct); return true; }, ct);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>A backend failure that may succeed when tried again (raised by backends and by fault injection in tests).</summary>
public sealed class TransientStoreException(string message) : IOException(message);
