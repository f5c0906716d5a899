using System.Net;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>The server-wide budget for request bodies read whole (issue 11, defect 8).</summary>
public class BodyBudgetTests
{
    /// <summary>A body that sends its first bytes, then waits until released.</summary>
    private sealed class StalledContent(long length, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(new byte[1024]);
            await stream.FlushAsync();
            await release;
            var chunk = new byte[1 << 20];
            for (long left = length - 1024; left > 0; left -= chunk.Length) await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)));
        }

        protected override bool TryComputeLength(out long len)
        {
            len = length;
            return true;
        }
    }

    [Fact]
    public async Task Bodies_beyond_the_budget_get_503_with_retry_after_and_store_nothing()
    {
        await using var server = await LiveServer.StartAsync(null, "--Diced:MaxBufferedBodyBytes", (48 << 20).ToString());
        var c = server.Client;
        var uuid = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        var release = new TaskCompletionSource();
        var first = c.PostAsync($"/api/node/{uuid}/kv/key/first", new StalledContent(32 << 20, release.Task));
        await Task.Delay(300); // the first body is being read and holds 32 MiB of the 48 MiB budget
        var second = await c.PostAsync($"/api/node/{uuid}/kv/key/second", new ByteArrayContent(new byte[32 << 20]));
        await second.ExpectErrorAsync(503, "try again");
        Assert.Equal("1", second.Headers.RetryAfter?.Delta?.TotalSeconds.ToString());
        release.SetResult();
        await (await first).ExpectAsync(200);
        Assert.Null(await c.GetKeyAsync(uuid, "kv", "second"));
        // Once the first is done, the same body fits.
        await (await c.PostAsync($"/api/node/{uuid}/kv/key/second", new ByteArrayContent(new byte[32 << 20]))).ExpectAsync(200);
        // A body larger than the whole budget can never fit: 413.
        await (await c.PostAsync($"/api/node/{uuid}/kv/key/huge", new ByteArrayContent(new byte[49 << 20]))).ExpectErrorAsync(413);
    }
}
