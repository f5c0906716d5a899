using System.Buffers.Binary;
using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore;

/// <summary>
/// Named, persisted id counters (label ids, mutation ids), shared by every server on the store: an id is stored as
/// used (conditionally) before it is handed out, so none is handed out twice, across restarts and servers.
/// </summary>
public sealed class IdCounters(IKeyValueStore store)
{
    private const string CounterPrefix = "counter/";
    private readonly IKeyValueStore _store = store;
    private readonly SemaphoreSlim _counterLock = new(1, 1);

    /// <summary>
    /// Reserves <paramref name="count"/> consecutive ids from a named, persisted counter shared by every server on the
    /// store, never below <paramref name="floor"/>; returns the first. The reservation is stored (conditionally)
    /// before it is returned, so no id is handed out twice, across restarts and servers.
    /// </summary>
    public async Task<ulong> ReserveAsync(string counter, ulong count, ulong floor = 1, CancellationToken ct = default)
    {
        if (count == 0) throw DatastoreException.BadRequest("cannot reserve 0 ids");
        var (first, _) = await UpdateCounterAsync(counter, next =>
        {
            ulong start = Math.Max(next, floor);
            if (ulong.MaxValue - start < count) throw DatastoreException.BadRequest($"reserving {count} ids would overflow the counter");
            return (start, start + count);
        }, ct);
        return first;
    }

    /// <summary>Raises a counter so the next reservation starts after <paramref name="used"/>.</summary>
    public async Task RaiseCounterAsync(string counter, ulong used, CancellationToken ct = default)
    {
        if (used == ulong.MaxValue) return;
        await UpdateCounterAsync(counter, next => (next, Math.Max(next, used + 1)), ct, skipIfUnchanged: true);
    }

    /// <summary>Sets the counter's next value (admin repair: DVID's <c>set-nextlabel</c>); returns the previous one.</summary>
    public async Task<ulong> SetAsync(string counter, ulong next, CancellationToken ct = default)
        => (await UpdateCounterAsync(counter, current => (current, next), ct)).Result;

    /// <summary>A value stored under a counter's name, or null when none is (settings kept beside counters: ceilings).</summary>
    public async Task<ulong?> ReadAsync(string counter, CancellationToken ct = default)
        => await _store.GetAsync(DataKeys.Metadata(CounterPrefix + counter), ct) is { } v ? BinaryPrimitives.ReadUInt64LittleEndian(v) : null;

    /// <summary>The counter's next value (1 when never used).</summary>
    public async Task<ulong> PeekCounterAsync(string counter, CancellationToken ct = default)
        => await _store.GetAsync(DataKeys.Metadata(CounterPrefix + counter), ct) is { } v ? BinaryPrimitives.ReadUInt64LittleEndian(v) : 1;

    private async Task<(ulong Result, ulong Next)> UpdateCounterAsync(string counter, Func<ulong, (ulong Result, ulong Next)> change, CancellationToken ct, bool skipIfUnchanged = false)
    {
        var key = DataKeys.Metadata(CounterPrefix + counter);
        await _counterLock.WaitAsync(ct); // one request at a time here; other servers are handled by the conditional write
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                var current = await _store.GetTaggedAsync(key, ct);
                ulong next = current is null ? 1 : BinaryPrimitives.ReadUInt64LittleEndian(current.Value);
                var (result, updated) = change(next);
                if (skipIfUnchanged && updated == next && current is not null) return (result, next);
                var value = new byte[24]; // next value + a write id, so a retried write can be told from another's
                BinaryPrimitives.WriteUInt64LittleEndian(value, updated);
                Guid.NewGuid().TryWriteBytes(value.AsSpan(8));
                if (await _store.PutIfAsync(key, value, current?.Tag, ct) is not null) return (result, updated);
                if (attempt >= 100) throw new DatastoreException($"counter {counter} is contended; try again", ErrorKind.Conflict);
                await Task.Delay(Random.Shared.Next(1, 5 + attempt), ct);
            }
        }
        finally
        {
            _counterLock.Release();
        }
    }
}
