namespace Diced.Datastore.Versioning;

/// <summary>
/// Counts the commits of mutations to one instance at one version, so that a reader that reads several records (a
/// mapping and an index, an index and blocks) can tell whether a mutation committed in between: a sequence lock.
/// The count is odd while a commit (and the cache updates that follow it) is under way. Readers never block writers.
/// </summary>
public sealed class VersionStamp
{
    private long _count;
    private TaskCompletionSource _settled = Settled();

    private static TaskCompletionSource Settled()
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult();
        return t;
    }

    /// <summary>Marks the start of a commit (callers serialise their commits).</summary>
    public void BeginChange()
    {
        Volatile.Write(ref _settled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Interlocked.Increment(ref _count);
    }

    /// <summary>Marks the end of a commit, whether it succeeded or not.</summary>
    public void EndChange()
    {
        Interlocked.Increment(ref _count);
        Volatile.Read(ref _settled).TrySetResult();
    }

    /// <summary>The current count (odd while a commit is under way).</summary>
    public long Current => Interlocked.Read(ref _count);

    /// <summary>Waits until no commit is under way and returns the (even) count at that moment.</summary>
    public async ValueTask<long> SettledAsync(CancellationToken ct = default)
    {
        while (true)
        {
            var settled = Volatile.Read(ref _settled).Task;
            long count = Interlocked.Read(ref _count);
            if ((count & 1) == 0) return count;
            await settled.WaitAsync(ct);
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> until it ran entirely between two commits, and returns that result: the reads it
    /// made saw every mutation whole or not at all.
    /// </summary>
    public async Task<T> ReadAsync<T>(Func<Task<T>> read, CancellationToken ct = default)
    {
        while (true)
        {
            long before = await SettledAsync(ct);
            var result = await read();
            if (Interlocked.Read(ref _count) == before) return result;
        }
    }

    /// <summary>Like <see cref="ReadAsync{T}"/>, but gives up after <paramref name="attempts"/> reads that a commit
    /// interleaved with (a steady stream of commits could otherwise keep a slow reader going forever).</summary>
    public async Task<(bool Done, T? Result)> TryReadAsync<T>(Func<Task<T>> read, int attempts, CancellationToken ct = default)
    {
        for (int i = 0; i < attempts; i++)
        {
            long before = await SettledAsync(ct);
            var result = await read();
            if (Interlocked.Read(ref _count) == before) return (true, result);
        }
        return (false, default);
    }
}
