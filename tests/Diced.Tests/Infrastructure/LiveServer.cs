using System.Net.Sockets;
using System.Text;
using Diced.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Diced.Tests.Infrastructure;

/// <summary>The server on real Kestrel, in this process, on a free loopback port.</summary>
public sealed class LiveServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsDir;

    private LiveServer(WebApplication app, string dataDir, bool ownsDir)
    {
        _app = app;
        DataDir = dataDir;
        _ownsDir = ownsDir;
        BaseAddress = app.ListenAddress();
        Client = new HttpClient { BaseAddress = BaseAddress };
    }

    public string DataDir { get; }
    public Uri BaseAddress { get; }
    public int Port => BaseAddress.Port;
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<LiveServer> StartAsync(string? dataDir = null, params string[] extraArgs)
    {
        bool owns = dataDir is null;
        dataDir ??= TempDir.Create("diced-live");
        string[] args = ["--urls", "http://127.0.0.1:0", "--data", dataDir, "--Serilog:MinimumLevel:Default", "Warning", .. extraArgs];
        var app = DicedApp.Configure(DicedApp.CreateBuilder(args).Build());
        await app.StartAsync();
        return new LiveServer(app, dataDir, owns);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsDir) TempDir.Delete(DataDir);
    }
}

public sealed class LiveServerFixture : IAsyncLifetime
{
    public LiveServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await LiveServer.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Hand-written HTTP/1.1 requests, for bodies no well-behaved client sends.</summary>
public sealed class RawHttp : IDisposable
{
    private readonly TcpClient _tcp;

    private RawHttp(TcpClient tcp, string statusLine, string body)
    {
        _tcp = tcp;
        StatusLine = statusLine;
        Body = body;
    }

    public string StatusLine { get; }
    public string Body { get; }

    /// <summary>Sends headers declaring <paramref name="declaredLength"/> body bytes, then <paramref name="body"/>; optionally hangs up.</summary>
    public static async Task<RawHttp> SendAsync(int port, string method, string path, long declaredLength, byte[] body, bool closeAfterBody = false)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        var head = $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {declaredLength}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        if (closeAfterBody)
        {
            tcp.Client.Shutdown(SocketShutdown.Send);
            tcp.Close();
            return new RawHttp(tcp, "", "");
        }
        return await ReadResponseAsync(tcp);
    }

    /// <summary>Sends <paramref name="request"/> exactly as given (request line, headers and body) and reads the answer.</summary>
    public static async Task<RawHttp> SendBytesAsync(int port, byte[] request)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await tcp.GetStream().WriteAsync(request);
        return await ReadResponseAsync(tcp);
    }

    private static async Task<RawHttp> ReadResponseAsync(TcpClient tcp)
    {
        var stream = tcp.GetStream();
        stream.ReadTimeout = 10_000;
        var buffer = new byte[65536];
        var text = new StringBuilder();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var readTask = stream.ReadAsync(buffer).AsTask();
            if (await Task.WhenAny(readTask, Task.Delay(2000)) != readTask) break;
            int n = await readTask;
            if (n == 0) break;
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            if (text.ToString().Contains("\r\n\r\n") && text.ToString().Contains(").\n")) break;
        }
        var all = text.ToString();
        int split = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var statusLine = all.Split("\r\n")[0];
        return new RawHttp(tcp, statusLine, split >= 0 ? all[(split + 4)..] : "");
    }

    public void Dispose() => _tcp.Dispose();
}
