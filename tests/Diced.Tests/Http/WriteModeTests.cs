using Diced.Cli;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>DVID's -readonly and -fullwrite modes, and admin privilege over both (issue 13).</summary>
public class WriteModeTests
{
    private static async Task<string> CommittedRepoAsync(HttpClient c)
    {
        var uuid = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await c.CreateInstanceAsync(uuid, "labelmap", "seg", new { BlockSize = "32,32,32" });
        await c.CommitAsync(uuid);
        return uuid;
    }

    [Fact]
    public async Task Fullwrite_lets_writes_and_mutations_reach_locked_nodes()
    {
        await using var server = await LiveServer.StartAsync(null, "--Diced:FullWrite", "true");
        var c = server.Client;
        var uuid = await CommittedRepoAsync(c);
        await (await c.PostAsync($"/api/node/{uuid}/kv/key/a", new ByteArrayContent([1]))).ExpectAsync(200);
        var labels = new byte[32 * 32 * 32 * 8];
        labels[0] = 7;
        await (await c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/32_32_32/0_0_0", new ByteArrayContent(labels))).ExpectAsync(200);
        await (await c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Json(new[] { 7, 0 }))).ExpectErrorAsync(400, "Label 0"); // mutations reach the model
        Assert.Equal(new byte[] { 1 }, await c.GetKeyAsync(uuid, "kv", "a"));
    }

    [Fact]
    public async Task Without_fullwrite_only_the_admin_token_writes_to_locked_nodes()
    {
        await using var server = await LiveServer.StartAsync(null, "--Diced:AdminToken", "tok");
        var c = server.Client;
        var uuid = await CommittedRepoAsync(c);
        await (await c.PostAsync($"/api/node/{uuid}/kv/key/a", new ByteArrayContent([1]))).ExpectErrorAsync(400, "locked node");
        await (await c.PostAsync($"/api/node/{uuid}/kv/key/a?admintoken=tok", new ByteArrayContent([2]))).ExpectAsync(200);
        Assert.Equal(new byte[] { 2 }, await c.GetKeyAsync(uuid, "kv", "a"));
    }

    [Fact]
    public async Task Readonly_accepts_only_get_and_head_unless_admin()
    {
        string uuid;
        var dir = TempDir.Create("diced-ro");
        try
        {
            await using (var writable = await LiveServer.StartAsync(dir))
            {
                uuid = await writable.Client.CreateRepoAsync();
                await writable.Client.CreateInstanceAsync(uuid, "keyvalue", "kv");
                await writable.Client.PutKeyAsync(uuid, "kv", "a", [1]);
            }
            await using var server = await LiveServer.StartAsync(dir, "--Diced:ReadOnly", "true", "--Diced:AdminToken", "tok");
            var c = server.Client;
            Assert.Equal(new byte[] { 1 }, await c.GetKeyAsync(uuid, "kv", "a"));
            foreach (var (method, url) in new[] { ("POST", $"/api/node/{uuid}/kv/key/b"), ("DELETE", $"/api/node/{uuid}/kv/key/a"), ("POST", "/api/repos"), ("POST", $"/api/node/{uuid}/commit") })
                await (await c.SendAsync(new HttpMethod(method), url, new ByteArrayContent([1]))).ExpectErrorAsync(400, "Server in read-only mode and will only accept GET and HEAD requests");
            Assert.Null(await c.GetKeyAsync(uuid, "kv", "b"));
            await (await c.PostAsync($"/api/node/{uuid}/kv/key/b?admintoken=tok", new ByteArrayContent([3]))).ExpectAsync(200);
        }
        finally { TempDir.Delete(dir); }
    }

    [Theory]
    [InlineData(new[] { "-verbose", "-fullwrite", "serve", "cfg.toml" }, false, true, true, "serve")]
    [InlineData(new[] { "--readonly", "-rpc=:8001", "serve", "cfg.toml" }, true, false, false, "serve")]
    [InlineData(new[] { "-rpc", ":8001", "-numcpu=4", "-fullwrite=true", "repos" }, false, true, false, "repos")]
    [InlineData(new[] { "-fullwrite=false", "about" }, false, false, false, "about")]
    public void Dvid_flags_before_the_command_are_taken(string[] args, bool readOnly, bool fullWrite, bool verbose, string command)
    {
        var (flags, rest) = DvidFlags.Parse(args);
        Assert.Equal((readOnly, fullWrite, verbose), (flags.ReadOnly, flags.FullWrite, flags.Verbose));
        Assert.Equal(command, rest[0]);
    }

    [Fact]
    public async Task Contradictory_or_malformed_flags_are_one_line_and_exit_2()
    {
        var err = new StringWriter();
        Assert.Equal(2, await DicedCli.RunAsync(["-readonly", "-fullwrite", "serve"], TextWriter.Null, err));
        Assert.Contains("Can only do -fullwrite or -readonly, not both.", err.ToString());
        err = new StringWriter();
        Assert.Equal(2, await DicedCli.RunAsync(["-rpc"], TextWriter.Null, err));
        Assert.Contains("needs a value", err.ToString());
    }

    /// <summary>
    /// A <c>dvid</c> symlink to the built <c>diced</c> on PATH, started through a shell with neuclease's fixture line
    /// (<c>subprocess.Popen(['dvid', '-verbose', '-fullwrite', 'serve', config])</c>): it serves the TOML's address,
    /// reports the TOML's location and writes to committed nodes.
    /// </summary>
    [Fact]
    public async Task A_dvid_symlink_on_PATH_starts_from_neucleases_fixture_line()
    {
        var dir = TempDir.Create("diced-dvid-link");
        System.Diagnostics.Process? p = null;
        try
        {
            var apphost = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ServerProcess.ServerDll)!, "..", "..", "..", "..", "Diced.Cli", "bin",
                new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "diced"));
            Directory.CreateDirectory(Path.Combine(dir, "bin"));
            File.CreateSymbolicLink(Path.Combine(dir, "bin", "dvid"), apphost);
            int port = ServerProcess.FreePort();
            var toml = Path.Combine(dir, "dvid-config.toml");
            await File.WriteAllTextAsync(toml, $"[server]\nhttpAddress = \"127.0.0.1:{port}\"\n\n[store]\n[store.mutable]\nengine = \"basholeveldb\"\npath = \"{Path.Combine(dir, "db")}\"\n");
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec dvid -verbose -fullwrite serve dvid-config.toml");
            psi.Environment["PATH"] = Path.Combine(dir, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
            p = System.Diagnostics.Process.Start(psi)!;
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            using var c = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            string? info = null;
            for (int i = 0; i < 300 && info is null && !p.HasExited; i++)
            {
                try { info = await c.GetStringAsync("/api/server/info"); }
                catch (HttpRequestException) { await Task.Delay(100); }
            }
            Assert.NotNull(info);
            using (var doc = System.Text.Json.JsonDocument.Parse(info))
                Assert.Equal(toml, doc.RootElement.GetProperty("TOML location").GetString());
            var uuid = await CommittedRepoAsync(c);
            await (await c.PostAsync($"/api/node/{uuid}/kv/key/after-commit", new ByteArrayContent([9]))).ExpectAsync(200);
        }
        finally
        {
            if (p is { HasExited: false }) { p.Kill(); p.WaitForExit(10_000); }
            p?.Dispose();
            TempDir.Delete(dir);
        }
    }

    /// <summary>neuclease's test fixture starts DVID with exactly this line and then writes to committed nodes.</summary>
    [Fact]
    public async Task Neuclease_fixture_command_line_serves_with_fullwrite()
    {
        var dir = TempDir.Create("diced-neuclease");
        try
        {
            int port = ServerProcess.FreePort();
            var toml = Path.Combine(dir, "dvid-config.toml");
            await File.WriteAllTextAsync(toml, $"[server]\nhttpAddress = \"127.0.0.1:{port}\"\n\n[store]\n[store.mutable]\nengine = \"basholeveldb\"\npath = \"{Path.Combine(dir, "db")}\"\n");
            using var cts = new CancellationTokenSource();
            var serve = DicedCli.RunAsync(["-verbose", "-fullwrite", "serve", toml], TextWriter.Null, TextWriter.Null, cts.Token);
            using var c = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (int i = 0; i < 100; i++)
            {
                try { (await c.GetAsync("/api/server/info")).EnsureSuccessStatusCode(); break; }
                catch (HttpRequestException) { await Task.Delay(100); }
            }
            var uuid = await CommittedRepoAsync(c);
            await (await c.PostAsync($"/api/node/{uuid}/kv/key/after-commit", new ByteArrayContent([9]))).ExpectAsync(200);
            cts.Cancel();
            Assert.Equal(0, await serve);
        }
        finally { TempDir.Delete(dir); }
    }
}
