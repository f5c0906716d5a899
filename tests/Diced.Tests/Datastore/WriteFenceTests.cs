using System.Diagnostics;
using Diced.Datastore;
using Diced.Datastore.Versioning;

namespace Diced.Tests.Datastore;

/// <summary>
/// Regression (issue 20 stop): under a loaded machine one metadata refresh of a shared store took longer than the
/// fence's window, and writes arriving then got a 503 at once. A write that finds the metadata stale now waits
/// (bounded) for the next refresh; with no refresh it is still refused.
/// </summary>
public class WriteFenceTests
{
    private static long SecondsAgo(double s) => Stopwatch.GetTimestamp() - (long)(s * Stopwatch.Frequency);

    [Fact]
    public async Task A_stale_fence_lets_a_waiting_write_through_once_a_refresh_lands()
    {
        var fence = new WriteFence(SecondsAgo(10));
        Assert.True(fence.IsStale);
        Assert.Throws<DatastoreException>(fence.ThrowIfStale);
        var waiting = fence.WaitUntilFreshAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        fence.Refreshed(Stopwatch.GetTimestamp());
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(fence.IsStale);
        fence.ThrowIfStale();
    }

    [Fact]
    public async Task Without_a_refresh_the_wait_ends_at_its_limit_and_the_write_is_refused()
    {
        var fence = new WriteFence(SecondsAgo(10));
        var sw = Stopwatch.StartNew();
        await fence.WaitUntilFreshAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None);
        Assert.InRange(sw.ElapsedMilliseconds, 250, 5000);
        var e = Assert.Throws<DatastoreException>(fence.ThrowIfStale);
        Assert.Contains("writes are refused", e.Message);
        // A refresh that started before the fence's last one does not make it fresh.
        fence.Refreshed(SecondsAgo(20));
        Assert.True(fence.IsStale);
    }
}
