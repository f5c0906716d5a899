using System.Diagnostics;
using System.Net;
using Diced.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Diced.Tests.Regressions;

/// <summary>
/// Issue 11, defect 8: three concurrent 512 MiB keyvalue uploads raised the server's memory from 249 to 2,334 MiB,
/// still held 30 s later; nothing limited concurrent large uploads.
/// </summary>
[Collection(ProcessCollection.Name)]
public class Issue11_memory_returns_after_large_uploads(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_concurrent_256_MiB_uploads_leave_memory_within_512_MiB_of_the_start_after_30_s()
    {
        var dir = TempDir.Create("diced-mem");
        try
        {
            using var server = ServerProcess.Start(dir);
            await server.WaitUntilServingAsync(TimeSpan.FromSeconds(30));
            var c = server.Client;
            c.Timeout = TimeSpan.FromMinutes(2);
            var uuid = await c.CreateRepoAsync("mem");
            await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
            await c.PutKeyAsync(uuid, "kv", "warm", new byte[1 << 20]);
            long start = server.MemoryBytes("VmRSS");

            var value = new byte[256 << 20];
            new Random(1).NextBytes(value);
            var uploads = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => c.PostAsync($"/api/node/{uuid}/kv/key/big{i}", new ByteArrayContent(value))));
            Assert.All(uploads, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            long peak = server.MemoryBytes("VmRSS");
            var sw = Stopwatch.StartNew();
            long now = peak;
            while (sw.Elapsed < TimeSpan.FromSeconds(30))
            {
                now = server.MemoryBytes("VmRSS");
                if (now - start < 512L << 20) break;
                await Task.Delay(250);
            }
            output.WriteLine($"RSS {start >> 20} MiB before, {peak >> 20} MiB after the uploads, {now >> 20} MiB {sw.Elapsed.TotalSeconds:F1} s later");
            Assert.True(now - start < 512L << 20, $"RSS stayed {(now - start) >> 20} MiB above the start 30 s after the uploads");
            var back = await c.GetKeyAsync(uuid, "kv", "big2");
            Assert.True(back.AsSpan().SequenceEqual(value));
        }
        finally { TempDir.Delete(dir); }
    }
}
