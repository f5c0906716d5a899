using System.Reflection;

namespace Diced.Client;

/// <summary>A server started in this process for a local or cloud store (provided by the Diced.Host package).</summary>
public interface ILocalServer : IAsyncDisposable
{
    /// <summary>Where it answers.</summary>
    Uri Address { get; }
}

/// <summary>
/// Finds Diced.Host at run time, so that this package speaks only HTTP and carries no server: an application that
/// opens stores in-process references Diced.Host as well.
/// </summary>
internal static class LocalServers
{
    public static async Task<ILocalServer> StartAsync(string location, DicedStoreOptions options, CancellationToken ct)
    {
        var host = Type.GetType("Diced.Host.LocalServer, Diced.Host", throwOnError: false)
            ?? throw new DicedException($"opening the store at {location} in this process needs the Diced.Host package (dotnet add package Diced.Host); " +
                "or open a running server by its address (http://host:8000)");
        var start = host.GetMethod("StartAsync", BindingFlags.Public | BindingFlags.Static)
            ?? throw new DicedException("the Diced.Host package found does not match this Diced.Client (no LocalServer.StartAsync)");
        var args = new List<string>();
        if (options.CredentialsFile is not null) args.AddRange(["--Diced:Gcs:CredentialsFile", options.CredentialsFile]);
        args.AddRange(options.ServerArguments);
        try { return await (Task<ILocalServer>)start.Invoke(null, [location, options.Port, args, options.Verbose, ct])!; }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
