namespace Diced.Datastore.Versioning;

/// <summary>
/// Orders data writes against the commit of one node: a write admitted before the commit completes before
/// the node is locked, and no write is admitted after the commit starts. So a locked node never changes.
/// </summary>
public sealed class NodeWriteGate
{
    private int _inflight;
    private int _closing; // 0 or 1, written with Interlocked (full fence) so the drain check cannot miss a write
    private TaskCompletionSource? _drained;
    private readonly object _sync = new();

    /// <summary>Admits one write, or returns false when the node is being (or has been) committed.</summary>
    public bool TryEnter()
    {
        Interlocked.Increment(ref _inflight);
        if (Volatile.Read(ref _closing) == 1)
        {
            Exit();
            return false;
        }
        return true;
    }

    /// <summary>Ends a write admitted by <see cref="TryEnter"/>.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _inflight) == 0 && Volatile.Read(ref _closing) == 1)
        {
            lock (_sync) _drained?.TrySetResult();
        }
    }

    /// <summary>Stops admitting writes and waits until the admitted ones finish.</summary>
    public Task CloseAsync()
    {
        lock (_sync)
        {
            Interlocked.Exchange(ref _closing, 1);
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Volatile.Read(ref _inflight) == 0) _drained.TrySetResult();
            return _drained.Task;
        }
    }

    /// <summary>Admits writes again (a commit that failed to persist).</summary>
    public void Reopen()
    {
        lock (_sync)
        {
            Interlocked.Exchange(ref _closing, 0);
            _drained = null;
        }
    }
}
