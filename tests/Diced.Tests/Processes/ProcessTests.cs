using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Diced.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Diced.Tests.Processes;

[Collection(ProcessCollection.Name)]
public class ProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Answers_within_two_seconds_and_exits_within_two_seconds_of_sigterm()
    {
        var dir = TempDir.Create("diced-proc");
        try
        {
            // Warm the OS file cache once so the measurement is of the server, not of a cold disk.
            using (var warm = ServerProcess.Start(dir)) { await warm.WaitUntilServingAsync(TimeSpan.FromSeconds(30)); }
            for (int round = 0; round < 2; round++)
            {
                using var server = ServerProcess.Start(dir);
                var startup = await server.WaitUntilServingAsync(TimeSpan.FromSeconds(10));
                output.WriteLine($"round {round}: answered after {startup.TotalMilliseconds:F0} ms");
                Assert.True(startup < TimeSpan.FromSeconds(2), $"server answered after {startup.TotalMilliseconds:F0} ms");
                // An idle keep-alive connection must not hold up shutdown.
                await server.Client.GetAsync("/api/server/info");
                var sw = Stopwatch.StartNew();
                server.Signal(ServerProcess.SIGTERM);
                Assert.True(server.WaitForExit(TimeSpan.FromSeconds(2)), "server still running 2 s after SIGTERM");
                output.WriteLine($"round {round}: exited {sw.ElapsedMilliseconds} ms after SIGTERM");
                // The port is free again.
                var l = new TcpListener(IPAddress.Loopback, server.Port);
                l.Start();
                l.Stop();
            }
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task Acknowledged_writes_survive_kill_9_and_startup_does_not_grow_with_data()
    {
        var dir = TempDir.Create("diced-crash");
        try
        {
            string uuid;
            var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
            int next = 0;
            for (int cycle = 0; cycle < 3; cycle++)
            {
                using var server = ServerProcess.Start(dir);
                var startup = await server.WaitUntilServingAsync(TimeSpan.FromSeconds(10));
                output.WriteLine($"cycle {cycle}: {acknowledged.Count} keys stored, answered after {startup.TotalMilliseconds:F0} ms");
                Assert.True(startup < TimeSpan.FromSeconds(2), $"start-up took {startup.TotalMilliseconds:F0} ms with {acknowledged.Count} keys");
                var c = server.Client;
                if (cycle == 0)
                {
                    uuid = await c.CreateRepoAsync("crash");
                    await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
                }
                using (var repos = await c.GetJsonAsync("/api/repos/info"))
                    uuid = repos.RootElement.EnumerateObject().Single().Name;
                // Everything acknowledged before earlier kills is intact.
                foreach (var (key, seed) in acknowledged)
                    Assert.Equal(ValueFor(key, seed), await c.GetKeyAsync(uuid, "kv", key));

                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        int i = Interlocked.Increment(ref next);
                        var key = $"key{i}";
                        try
                        {
                            var r = await c.PostAsync($"/api/node/{uuid}/kv/key/{key}", new ByteArrayContent(ValueFor(key, i)));
                            if (r.StatusCode == HttpStatusCode.OK) acknowledged[key] = i;
                        }
                        catch (HttpRequestException) { return; }
                        catch (TaskCanceledException) { return; }
                    }
                })).ToArray();
                await Task.Delay(1500);
                server.Signal(ServerProcess.SIGKILL); // mid-write
                stop.Cancel();
                await Task.WhenAll(writers);
                Assert.True(server.WaitForExit(TimeSpan.FromSeconds(5)));
            }
            using var last = ServerProcess.Start(dir);
            await last.WaitUntilServingAsync(TimeSpan.FromSeconds(10));
            using (var repos = await last.Client.GetJsonAsync("/api/repos/info"))
                uuid = repos.RootElement.EnumerateObject().Single().Name;
            Assert.True(acknowledged.Count > 100, $"only {acknowledged.Count} writes were acknowledged");
            foreach (var (key, seed) in acknowledged)
                Assert.Equal(ValueFor(key, seed), await last.Client.GetKeyAsync(uuid, "kv", key));
            output.WriteLine($"{acknowledged.Count} acknowledged keys intact after 3 kills");
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task A_one_gib_voxel_get_streams_in_bounded_memory()
    {
        var dir = TempDir.Create("diced-rss");
        try
        {
            using var server = ServerProcess.Start(dir);
            await server.WaitUntilServingAsync(TimeSpan.FromSeconds(10));
            var c = server.Client;
            var uuid = await c.CreateRepoAsync("rss");
            await c.CreateInstanceAsync(uuid, "uint8blk", "grey", new { BlockSize = "64,64,64" });
            var slab = new byte[1024 * 1024 * 64];
            new Random(1).NextBytes(slab);
            await (await c.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/1024_1024_64/0_0_0", new ByteArrayContent(slab))).ExpectAsync(200);
            slab = null;
            // Warm the read path, then take the peak so far as the baseline.
            for (int i = 0; i < 2; i++)
                await (await c.GetAsync($"/api/node/{uuid}/grey/raw/0_1_2/1024_1024_128/0_0_0")).ExpectAsync(200);
            long before = server.MemoryBytes("VmHWM");
            var (total, nonZero) = await StreamAsync(c, $"/api/node/{uuid}/grey/raw/0_1_2/1024_1024_1024/0_0_0", 1024L * 1024 * 64);
            long after = server.MemoryBytes("VmHWM");
            output.WriteLine($"peak RSS {before >> 20} MiB before, {after >> 20} MiB after a 1 GiB GET");
            Assert.Equal(1L << 30, total);
            Assert.True(nonZero > 60_000_000, "the written slab comes back");
            Assert.True(after - before < 256L << 20, $"peak RSS grew by {(after - before) >> 20} MiB");
        }
        finally { TempDir.Delete(dir); }
    }

    [Fact]
    public async Task A_one_gib_ndarray_get_streams_in_bounded_memory()
    {
        var dir = TempDir.Create("diced-rss-nd");
        try
        {
            using var server = ServerProcess.Start(dir);
            await server.WaitUntilServingAsync(TimeSpan.FromSeconds(10));
            var c = server.Client;
            var uuid = await c.CreateRepoAsync("rss");
            await c.CreateInstanceAsync(uuid, "ndarray", "movie", new { BlockSize = "64,64,64,1" });
            var slab = new byte[1024 * 1024 * 32];
            new Random(1).NextBytes(slab);
            await (await c.PostAsync($"/api/node/{uuid}/movie/raw/0_1_2/1024_1024_32/0_0_0_0", new ByteArrayContent(slab))).ExpectAsync(200);
            slab = null;
            for (int i = 0; i < 2; i++)
                await (await c.GetAsync($"/api/node/{uuid}/movie/raw/0_1_2_3/1024_1024_64_2/0_0_0_0")).ExpectAsync(200);
            long before = server.MemoryBytes("VmHWM");
            // Four time points of 1024 x 1024 x 256: slabs of at most 32 MiB, the first 32 MiB as written.
            var (total, nonZero) = await StreamAsync(c, $"/api/node/{uuid}/movie/raw/0_1_2_3/1024_1024_256_4/0_0_0_0", 1024L * 1024 * 32);
            long after = server.MemoryBytes("VmHWM");
            output.WriteLine($"peak RSS {before >> 20} MiB before, {after >> 20} MiB after a 1 GiB ndarray GET");
            Assert.Equal(1L << 30, total);
            Assert.True(nonZero > 30_000_000, "the written slab comes back");
            Assert.True(after - before < 256L << 20, $"peak RSS grew by {(after - before) >> 20} MiB");
        }
        finally { TempDir.Delete(dir); }
    }

    /// <summary>Reads a GET's body in 1 MiB pieces: its length and the non-zero bytes among its first <paramref name="head"/>.</summary>
    private static async Task<(long Total, long NonZero)> StreamAsync(HttpClient c, string url, long head)
    {
        using var r = await c.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        await r.ExpectAsync(200);
        Assert.Equal(1L << 30, r.Content.Headers.ContentLength);
        await using var body = await r.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 20];
        long total = 0, nonZero = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
        {
            if (total < head) nonZero += n - buffer.AsSpan(0, n).Count((byte)0);
            total += n;
        }
        return (total, nonZero);
    }

    private static byte[] ValueFor(string key, int seed)
    {
        var v = new byte[1000 + seed % 3000];
        new Random(seed).NextBytes(v);
        return v;
    }
}

/// <summary>Issue 13: a server that cannot start printed a stack trace of thirty lines.</summary>
[Collection(ProcessCollection.Name)]
public class StartupFailureTests
{
    [Fact]
    public async Task A_server_that_cannot_start_prints_one_line_and_exits_non_zero()
    {
        var file = Path.GetTempFileName(); // a file where the data directory should be
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { ServerProcess.ServerDll, "--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--data", file }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(30_000));
            Assert.NotEqual(0, p.ExitCode);
            var lines = ((await stdout) + (await stderr)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("diced: error: the server cannot start:", lines[0]);
            Assert.Contains(file, lines[0]);
        }
        finally { File.Delete(file); }
    }

    /// <summary>Issue 17's <c>Diced:IngestBatchBytes</c>: a value that is not a number stops the start with one line.</summary>
    [Fact]
    public async Task A_malformed_ingest_batch_size_is_one_line_and_no_server()
    {
        var dir = TempDir.Create("diced-bad-setting");
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { ServerProcess.ServerDll, "--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--data", dir, "--Diced:IngestBatchBytes", "4MB" })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(30_000));
            Assert.NotEqual(0, p.ExitCode);
            var lines = ((await stdout) + (await stderr)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("diced: error: the server cannot start:", lines[0]);
            Assert.Contains("4MB", lines[0]);
        }
        finally { TempDir.Delete(dir); }
    }
}
