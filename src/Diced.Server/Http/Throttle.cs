using Microsoft.Extensions.Options;

namespace Diced.Server.Http;

/// <summary>
/// DVID's throttled operations: a request with <c>throttle=on|true</c> takes one of a few server-wide slots,
/// or is refused at once with 503 so that batch clients back off (libdvid retries 503).
/// </summary>
public sealed class Throttle(IOptions<DicedOptions> options)
{
    private readonly SemaphoreSlim _slots = new(Math.Max(0, options.Value.MaxThrottledOps), Math.Max(1, options.Value.MaxThrottledOps));

    /// <summary>A slot for this request if it asked to be throttled, else a no-op; dispose to release.</summary>
    public IDisposable Enter(HttpContext http)
    {
        var q = http.Request.Query["throttle"].ToString().ToLowerInvariant();
        if (q is not ("on" or "true")) return Nothing.Instance;
        if (!_slots.Wait(0))
            throw new Datastore.DatastoreException(
                $"Server already running {options.Value.MaxThrottledOps} throttled operations (max = {options.Value.MaxThrottledOps})",
                Datastore.ErrorKind.Unavailable);
        return new Slot(_slots);
    }

    private sealed class Slot(SemaphoreSlim s) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) s.Release();
        }
    }

    private sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();
        public void Dispose() { }
    }
}
