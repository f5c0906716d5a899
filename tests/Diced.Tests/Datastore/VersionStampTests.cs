using Diced.Datastore.Versioning;

namespace Diced.Tests.Datastore;

public class VersionStampTests
{
    [Fact]
    public async Task A_read_that_a_commit_interleaved_with_is_repeated()
    {
        var stamp = new VersionStamp();
        int reads = 0;
        var result = await stamp.ReadAsync(() =>
        {
            if (++reads < 3) { stamp.BeginChange(); stamp.EndChange(); } // a commit lands during the first two reads
            return Task.FromResult(reads);
        });
        Assert.Equal(3, result);
    }

    [Fact]
    public async Task Readers_wait_while_a_commit_is_under_way()
    {
        var stamp = new VersionStamp();
        stamp.BeginChange();
        var read = stamp.ReadAsync(() => Task.FromResult(stamp.Current));
        await Task.Delay(50);
        Assert.False(read.IsCompleted);
        stamp.EndChange();
        Assert.Equal(2, await read); // it ran after the commit, on an even count
    }

    [Fact]
    public async Task A_bounded_read_gives_up_under_a_stream_of_commits()
    {
        var stamp = new VersionStamp();
        int reads = 0;
        var (done, _) = await stamp.TryReadAsync(() =>
        {
            reads++;
            stamp.BeginChange();
            stamp.EndChange();
            return Task.FromResult(0);
        }, attempts: 4);
        Assert.False(done);
        Assert.Equal(4, reads);
    }
}
