using System.Diagnostics;
using System.Text.RegularExpressions;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Processes;

/// <summary>
/// No Docker engine runs on these machines, so the image's contents are checked by running its build step
/// (docker/publish.sh) and starting the result with the Dockerfile's own ENTRYPOINT arguments.
/// </summary>
[Collection(ProcessCollection.Name)]
public class DockerImageTests
{
    private static string Root => RadosGwFixture.RepoRoot;

    [Fact]
    public async Task The_images_build_step_and_entrypoint_give_a_serving_server_with_the_viewer()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(Root, "Dockerfile"));
        Assert.Contains("RUN bash docker/publish.sh /app", dockerfile);
        Assert.Matches(@"(?m)^USER app$", dockerfile);          // not root
        Assert.Matches(@"(?m)^VOLUME /data$", dockerfile);
        Assert.Matches(@"(?m)^EXPOSE 8000$", dockerfile);
        var entry = Regex.Match(dockerfile, @"(?m)^ENTRYPOINT \[(.*)\]$");
        Assert.True(entry.Success, "the Dockerfile has no exec-form ENTRYPOINT");
        var args = Regex.Matches(entry.Groups[1].Value, "\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["dotnet", "Diced.Server.dll", "--urls", "http://0.0.0.0:8000", "--data", "/data"], args);

        var output = TempDir.Create("diced-publish");
        var data = TempDir.Create("diced-image-data");
        try
        {
            var publish = Run("bash", [Path.Combine(Root, "docker", "publish.sh"), output], TimeSpan.FromMinutes(5));
            Assert.True(publish.Code == 0, publish.Output);
            Assert.True(File.Exists(Path.Combine(output, "wwwroot", "index.html")), "the viewer is not in the published output");
            Assert.True(File.Exists(Path.Combine(output, "appsettings.json")));
            // The image's command line, with the port and the volume mapped to this machine.
            int port = ServerProcess.FreePort();
            var psi = new ProcessStartInfo(args[0]) { WorkingDirectory = output, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args.Skip(1)) psi.ArgumentList.Add(a.Replace("http://0.0.0.0:8000", $"http://127.0.0.1:{port}").Replace("/data", data));
            using var server = Process.Start(psi)!;
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            try
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                string? info = null;
                for (var sw = Stopwatch.StartNew(); info is null && sw.Elapsed < TimeSpan.FromSeconds(30); )
                {
                    try { info = await http.GetStringAsync("/api/server/info"); }
                    catch (HttpRequestException) { await Task.Delay(100); }
                }
                Assert.NotNull(info);
                Assert.Contains("<script type=\"module\" src=\"viewer.js\">", await http.GetStringAsync("/"));
                Assert.Contains("renderDag", await http.GetStringAsync("/viewer.js"));
                var repo = await http.CreateRepoAsync("in-the-image");
                Assert.Contains(repo, await http.GetStringAsync("/api/repos/info"));
                Assert.True(Directory.EnumerateFileSystemEntries(data).Any(), "the data volume was not used");
            }
            finally
            {
                server.Kill();
                server.WaitForExit(5000);
            }
        }
        finally
        {
            TempDir.Delete(output);
            TempDir.Delete(data);
        }
    }

    private static (int Code, string Output) Run(string file, string[] args, TimeSpan limit)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit)) { p.Kill(true); return (-1, "timed out"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
