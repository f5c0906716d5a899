using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Processes;

/// <summary>Running a shared server (issue 16): metrics, health, JSON logs naming the user, the warning when exposed without auth.</summary>
[Collection(ProcessCollection.Name)]
public class OperationsTests
{
    [Fact]
    public async Task Metrics_health_and_json_logs_for_a_server_exposed_without_auth()
    {
        var dir = TempDir.Create("diced-ops");
        try
        {
            int port = ServerProcess.FreePort();
            using var server = ServerProcess.Start(dir, port, "--urls", $"http://0.0.0.0:{port}", "--log-format", "json",
                "--Serilog:MinimumLevel:Default", "Information");
            await server.WaitUntilServingAsync(TimeSpan.FromSeconds(30));
            var c = server.Client;
            var uuid = await c.CreateRepoAsync("ops");
            await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
            await (await c.PostAsync($"/api/node/{uuid}/kv/key/a?u=alice", DvidClient.Text("hello"))).ExpectAsync(200);
            Assert.Equal("ok\n", await c.GetStringAsync("/healthz"));
            Assert.Equal("ready\n", await c.GetStringAsync("/readyz"));
            var metrics = await c.GetStringAsync("/metrics");
            Assert.Contains("http_server_request_duration_seconds", metrics);
            Assert.Matches("diced_commits_total\\{[^}]*instance=\"kv\",type=\"keyvalue\"\\} 1", metrics);
            Assert.Matches("diced_http_bytes_in_bytes_total\\{[^}]*http_route=\"/api/node/\\{uuid\\}/\\{name:datatype\\(keyvalue\\)\\}/key/\\{key\\}\"\\} 5", metrics);
            Assert.Matches("diced_rocksdb_block_cache_(hits|misses)_total\\{[^}]*\\} \\d+", metrics);
            Assert.Matches("diced_store_duration_seconds_count\\{[^}]*backend=\"rocksdb\",op=\"commit\"[^}]*\\} \\d+", metrics);
            await Task.Delay(500);
            var lines = server.Output.ToArray();
            var events = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.NotEmpty(events);
            Assert.Contains(events, e => e.TryGetProperty("@l", out var l) && l.GetString() == "Warning" && e.GetProperty("@mt").GetString()!.Contains("without authentication"));
            Assert.Contains(events, e => e.TryGetProperty("User", out var u) && u.GetString() == "alice" && e.GetProperty("RequestPath").GetString()!.EndsWith("/kv/key/a"));
            Assert.DoesNotContain(lines, l => !l.StartsWith('{') && l.Trim().Length > 0);
        }
        finally { TempDir.Delete(dir); }
    }

    /// <summary>
    /// Regression (issue 17): ASP.NET watched the content root recursively for configuration changes, and the embedded
    /// store's files live there (./data by default), so every RocksDB write woke an inotify watcher.
    /// </summary>
    [Fact]
    public async Task The_server_watches_no_files()
    {
        var dir = TempDir.Create("diced-watch");
        try
        {
            using var server = ServerProcess.Start(dir);
            await server.WaitUntilServingAsync(TimeSpan.FromSeconds(30));
            await server.Client.GetStringAsync("/");
            var watchers = Directory.GetFiles($"/proc/{server.Pid}/fd").Count(fd =>
            {
                try { return new FileInfo(fd).LinkTarget?.Contains("inotify") == true; }
                catch (IOException) { return false; }
            });
            Assert.Equal(0, watchers);
        }
        finally { TempDir.Delete(dir); }
    }
}
