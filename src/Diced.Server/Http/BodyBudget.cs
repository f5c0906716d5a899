using Diced.Datastore;
using Microsoft.Extensions.Options;

namespace Diced.Server.Http;

/// <summary>
/// Bounds the memory held by request bodies read whole, server-wide: a body that would take the total over
/// <see cref="DicedOptions.MaxBufferedBodyBytes"/> is refused with 503 and <c>Retry-After</c>, before it is read.
/// After a burst of large bodies, once none is held, the garbage collector is asked to compact and give the memory
/// back to the operating system (otherwise the process would keep its peak for as long as it stays idle).
/// </summary>
public sealed class BodyBudget(IOptions<DicedOptions> options, ILogger<BodyBudget> log)
{
    /// <summary>Bytes released since the last collection that make a collection worth it.</summary>
    private const long CollectAfterBytes = 128L << 20;

    /// <summary>Bytes released, busy or not, that make a background collection worth it.</summary>
    private const long SweepAfterBytes = 64L << 20;

    private readonly long _limit = options.Value.MaxBufferedBodyBytes;
    private long _inUse, _releasedSinceCollect, _releasedSinceSweep;
    private int _collectScheduled;

    /// <summary>Bytes of bodies held now.</summary>
    public long InUse => Interlocked.Read(ref _inUse);

    /// <summary>The request's lease (made once; released when the request ends).</summary>
    public Lease LeaseOf(HttpContext http)
    {
        if (http.Items.TryGetValue(typeof(Lease), out var existing)) return (Lease)existing!;
        var lease = new Lease(this);
        http.Items[typeof(Lease)] = lease;
        http.Response.RegisterForDispose(lease);
        return lease;
    }

    private void Take(long bytes)
    {
        if (bytes > _limit)
            throw new DatastoreException($"a request body of {bytes} bytes is larger than this server's budget for buffered bodies ({_limit} bytes)", ErrorKind.TooLarge);
        if (Interlocked.Add(ref _inUse, bytes) > _limit)
        {
            Interlocked.Add(ref _inUse, -bytes);
            throw new DatastoreException($"the server is holding other large request bodies ({_limit} bytes at most); try again shortly", ErrorKind.Unavailable);
        }
    }

    private void Give(long bytes)
    {
        if (bytes == 0) return;
        Interlocked.Add(ref _releasedSinceCollect, bytes);
        long inUse = Interlocked.Add(ref _inUse, -bytes);
        if (Interlocked.Add(ref _releasedSinceSweep, bytes) >= SweepAfterBytes)
        {
            // A steady stream of large bodies (an ingest) never leaves the server idle; their buffers are large objects,
            // which only a full collection frees. One costs a few milliseconds (the buffers hold no references) and
            // keeps the process near its working size instead of letting dead buffers pile up to the gigabytes. It
            // blocks: a background one fell behind on a busy machine (a 1 GiB ingest peaked 258 MiB over its start
            // under the test suite's load, 150-165 MiB with blocking ones, at the same speed).
            Interlocked.Exchange(ref _releasedSinceSweep, 0);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
        if (inUse == 0 && Interlocked.Read(ref _releasedSinceCollect) >= CollectAfterBytes
            && Interlocked.Exchange(ref _collectScheduled, 1) == 0)
            _ = Task.Run(CollectWhenIdleAsync);
    }

    private async Task CollectWhenIdleAsync()
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1)); // the responses finish, and the next request of a burst may come
            if (InUse != 0) return;
            long released = Interlocked.Exchange(ref _releasedSinceCollect, 0);
            long before = Environment.WorkingSet;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            log.LogInformation("Returned memory after {Released} bytes of request bodies: working set {Before} -> {After} bytes",
                released, before, Environment.WorkingSet);
        }
        finally { Interlocked.Exchange(ref _collectScheduled, 0); }
    }

    /// <summary>What one request holds; grows as its body is read, released when the request ends.</summary>
    public sealed class Lease(BodyBudget budget) : IDisposable
    {
        private long _bytes;

        public void Grow(long bytes)
        {
            budget.Take(bytes);
            _bytes += bytes;
        }

        public void Dispose()
        {
            budget.Give(_bytes);
            _bytes = 0;
        }
    }
}
