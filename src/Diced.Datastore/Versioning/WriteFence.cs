using System.Diagnostics;

namespace Diced.Datastore.Versioning;

/// <summary>
/// Makes commits binding across servers that share a store. Another server's commit reaches this one only through
/// the periodic metadata refresh, so writes to versioned data are admitted only while the last successful refresh
/// <em>started</em> less than <see cref="Window"/> ago, and a commit returns only <see cref="Window"/> (plus a margin)
/// after its lock is stored. Any write that starts after a commit has returned, on any server, therefore meets the
/// lock. (Writes already under way when the commit returns may still finish, as within one server they finish before
/// the commit does.)
/// </summary>
public sealed class WriteFence
{
    /// <summary>Longest time a server trusts metadata it has not re-read; also how long a commit waits.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    /// <summary>Extra wait of a commit beyond <see cref="Window"/> (timer granularity).</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a write that finds the metadata stale waits for a refresh before it is refused (a busy store or
    /// machine can make one refresh pass slower than the window; a store that does not answer still refuses writes).</summary>
    public static readonly TimeSpan StaleWait = TimeSpan.FromSeconds(5);

    private long _refreshStarted;
    private TaskCompletionSource _refreshed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="loadStarted">When this server began reading the metadata it starts with.</param>
    public WriteFence(long loadStarted) => _refreshStarted = loadStarted;

    /// <summary>Records a successful refresh that started at <paramref name="startTimestamp"/>.</summary>
    public void Refreshed(long startTimestamp)
    {
        long seen;
        do seen = Volatile.Read(ref _refreshStarted);
        while (startTimestamp > seen && Interlocked.CompareExchange(ref _refreshStarted, startTimestamp, seen) != seen);
        Interlocked.Exchange(ref _refreshed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Whether writes would be refused now.</summary>
    public bool IsStale => Age > Window;

    /// <summary>While stale, waits for refreshes, at most <paramref name="limit"/>; the write's own check comes after.</summary>
    public async Task WaitUntilFreshAsync(TimeSpan limit, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (IsStale)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero) return;
            try { await Volatile.Read(ref _refreshed).Task.WaitAsync(left, ct); }
            catch (TimeoutException) { return; }
        }
    }

    /// <summary>Time since the start of the last successful refresh.</summary>
    public TimeSpan Age => Stopwatch.GetElapsedTime(Volatile.Read(ref _refreshStarted));

    /// <summary>Refuses a write when this server's view of commits may be out of date.</summary>
    public void ThrowIfStale()
    {
        var age = Age;
        if (age > Window)
            throw new DatastoreException($"metadata was last read from the shared store {age.TotalSeconds:F1} s ago; " +
                "writes are refused until it can be read again", ErrorKind.Unavailable);
    }
}
