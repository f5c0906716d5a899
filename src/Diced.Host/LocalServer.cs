using Diced.Client;
using Diced.Server;
using Microsoft.AspNetCore.Builder;

namespace Diced.Host;

/// <summary>
/// A Diced server in this process for one store, on a loopback port: what <see cref="DicedStore.OpenAsync"/> uses
/// for a directory, <c>s3://</c> or <c>gs://</c> location when this package is referenced. Quiet unless asked: only
/// warnings and errors are logged (to standard error).
/// </summary>
public sealed class LocalServer : ILocalServer
{
    private readonly WebApplication _app;

    private LocalServer(WebApplication app) => _app = app;

    public Uri Address => _app.ListenAddress();

    /// <summary>Starts a server for <paramref name="location"/> (found by <see cref="DicedStore"/> by name: keep the signature).</summary>
    public static async Task<ILocalServer> StartAsync(string location, int port, IReadOnlyList<string> arguments, bool verbose, CancellationToken ct)
    {
        var level = verbose ? "Information" : "Warning";
        string[] args = ["--urls", $"http://127.0.0.1:{port}", "--data", location,
            "--Serilog:MinimumLevel:Default", level, "--Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime", level, .. arguments];
        WebApplication app;
        try
        {
            app = DicedApp.Configure(DicedApp.CreateBuilder(args).Build());
            await app.StartAsync(ct);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or Datastore.DatastoreException)
        {
            throw new DicedException($"cannot open the store at {location}: {e.Message}", e);
        }
        return new LocalServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
