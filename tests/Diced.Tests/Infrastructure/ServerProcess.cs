using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Diced.Tests.Infrastructure;

/// <summary>The server as its own OS process (<c>dotnet Diced.Server.dll</c>), for start-up, signal and crash tests.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, int port, string dataDir)
    {
        _process = process;
        Port = port;
        DataDir = dataDir;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }
    public string DataDir { get; }
    public HttpClient Client { get; }
    public int Pid => _process.Id;

    /// <summary>Lines the server wrote to stdout and stderr so far.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();
    public bool HasExited => _process.HasExited;

    /// <summary>The built server assembly beside this test build (same configuration).</summary>
    public static string ServerDll
    {
        get
        {
            var testDir = AppContext.BaseDirectory; // …/tests/Diced.Tests/bin/<Config>/net10.0/
            var config = new DirectoryInfo(testDir).Parent!.Name;
            var root = testDir;
            while (!File.Exists(Path.Combine(root, "Diced.Server.sln"))) root = Path.GetDirectoryName(root.TrimEnd('/'))!;
            return Path.Combine(root, "src", "Diced.Server", "bin", config, "net10.0", "Diced.Server.dll");
        }
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Starts the server; does not wait for it to answer.</summary>
    public static ServerProcess Start(string dataDir, int? port = null, params string[] extraArgs)
    {
        int p = port ?? FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { ServerDll, "--urls", $"http://127.0.0.1:{p}", "--data", dataDir, "--Serilog:MinimumLevel:Default", "Warning" }.Concat(extraArgs))
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var server = new ServerProcess(process, p, dataDir);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) server.Output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) server.Output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Polls <c>/api/server/info</c> until it answers 200; returns the time from now until then.</summary>
    public async Task<TimeSpan> WaitUntilServingAsync(TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        using var probe = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        while (sw.Elapsed < limit)
        {
            if (_process.HasExited) throw new InvalidOperationException($"server exited with code {_process.ExitCode}");
            try
            {
                var r = await probe.GetAsync("/api/server/info");
                if (r.IsSuccessStatusCode) return sw.Elapsed;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(20);
        }
        throw new TimeoutException($"server did not answer within {limit}");
    }

    /// <summary>A memory figure of the process from <c>/proc/PID/status</c>: <c>VmRSS</c> (now) or <c>VmHWM</c> (peak), in bytes.</summary>
    public long MemoryBytes(string field)
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith(field + ":"));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public void Signal(int sig)
    {
        if (kill(_process.Id, sig) != 0) throw new InvalidOperationException($"kill({_process.Id}, {sig}) failed: {Marshal.GetLastWin32Error()}");
    }

    public const int SIGKILL = 9, SIGTERM = 15;

    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public void Dispose()
    {
        Client.Dispose();
        try { if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(5000); } }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

/// <summary>Tests that start server processes run alone, so their timings are not skewed by other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessCollection
{
    public const string Name = "server processes";
}
