using Diced.Storage;

namespace Diced.Tests.Faults;

/// <summary>
/// Wraps a backend and fails a share of its calls: before the call reaches the backend ("request lost"), or after
/// it took effect ("response lost"), as a flaky network does.
/// </summary>
public sealed class FaultInjectingKeyValueStore(IKeyValueStore inner, double failBefore, double failAfter, int seed) : IKeyValueStore
{
    private readonly Random _rng = new(seed);
    private readonly object _sync = new();
    public int Injected;

    public bool Enabled { get; set; } = true;
    public string Description => "faulty " + inner.Description;
    /// <summary>Makes the wrapped store look shared by several servers (or not).</summary>
    public bool? Shared { get; set; }
    public bool IsShared => Shared ?? inner.IsShared;

    private bool Roll(double p)
    {
        if (!Enabled) return false;
        lock (_sync)
        {
            if (_rng.NextDouble() >= p) return false;
            Interlocked.Increment(ref Injected);
            return true;
        }
    }

    private void Before(string op)
    {
        if (Roll(failBefore)) throw new TransientStoreException($"injected failure before {op}");
    }

    private void After(string op)
    {
        if (Roll(failAfter)) throw new TransientStoreException($"injected lost response after {op}");
    }

    public async ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) { Before("get"); return await inner.GetAsync(key, ct); }
    public async ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) { Before("get"); return await inner.GetTaggedAsync(key, ct); }
    public async ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default) { Before("put"); await inner.PutAsync(key, value, ct); After("put"); }
    public async ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default)
    {
        Before("conditional put");
        var tag = await inner.PutIfAsync(key, value, expectedTag, ct);
        After("conditional put");
        return tag;
    }
    public async ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default) { Before("delete"); await inner.DeleteAsync(key, ct); After("delete"); }
    public async ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default) { Before("batch"); await inner.WriteAsync(batch, ct); After("batch"); }
    public async ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default)
    {
        Before("conditional batch");
        var done = await inner.TryWriteAsync(batch, ct);
        After("conditional batch");
        return done;
    }
    public async IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        Before("scan");
        int n = 0;
        await foreach (var kv in inner.ScanAsync(start, end, keysOnly, ct))
        {
            if (n++ > 0) Before("scan page");
            yield return kv;
        }
    }
    public async ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default) { Before("range delete"); await inner.DeleteRangeAsync(start, end, ct); }
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
