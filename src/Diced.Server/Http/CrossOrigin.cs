using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Diced.Server.Http;

/// <summary>
/// Which other web origins may use this server from a browser. Reading is open to <see cref="DicedOptions.CorsOrigins"/>
/// (any origin by default: Neuroglancer and viewers on other hosts read volumes). Changing anything is not: only
/// origins in <see cref="DicedOptions.CorsWriteOrigins"/> (none by default) get preflights for writes, and a write
/// whose <c>Origin</c> names any other site is refused before it runs, since simple form posts need no preflight.
/// Pages served by this server itself may write when reached by IP address or <c>localhost</c>; under a host name
/// (which DNS rebinding can hand to an attacker's page) list the name's origin in <c>CorsWriteOrigins</c>.
/// </summary>
public sealed class CrossOrigin(IOptions<DicedOptions> options) : ICorsPolicyProvider
{
    private static readonly string[] ReadMethods = ["GET", "HEAD"];
    private static readonly string[] AllMethods = ["GET", "HEAD", "POST", "PUT", "DELETE"];

    private readonly CorsPolicy? _read = Policy(options.Value.CorsOrigins, ReadMethods);
    private readonly CorsPolicy? _write = Policy(options.Value.CorsWriteOrigins, AllMethods);

    private static CorsPolicy? Policy(string[] origins, string[] methods)
    {
        if (origins.Length == 0) return null;
        var b = new CorsPolicyBuilder().WithMethods(methods).AllowAnyHeader();
        if (origins.Contains("*")) b.AllowAnyOrigin(); else b.WithOrigins(origins);
        return b.Build();
    }

    public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (_write is not null && _write.IsOriginAllowed(origin)) return Task.FromResult<CorsPolicy?>(_write);
        return Task.FromResult(_read);
    }

    /// <summary>Whether a request that changes something may come from its <c>Origin</c> (none, this server, or a write origin).</summary>
    public bool MayWrite(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length == 0) return true; // not from a browser page, or a same-origin GET-like request
        if (_write is not null && _write.IsOriginAllowed(origin)) return true;
        // A page of this server's own, reached by address: a host name could be an attacker's, rebound to this server.
        return string.Equals(origin, $"{http.Request.Scheme}://{http.Request.Host}", StringComparison.OrdinalIgnoreCase)
            && IsAddress(http.Request.Host.Host);
    }

    private static bool IsAddress(string host) => host == "localhost" || System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _);
}

/// <summary>Where <see cref="CrossOrigin"/> is applied in the pipeline.</summary>
public static class CrossOriginPipeline
{
    /// <summary>Refuses writes from other web origins (403) before routing; reads pass.</summary>
    public static IApplicationBuilder UseCrossOriginWriteGuard(this IApplicationBuilder app)
        => app.Use(async (http, next) =>
        {
            if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) && !HttpMethods.IsOptions(http.Request.Method)
                && !http.RequestServices.GetRequiredService<CrossOrigin>().MayWrite(http))
                throw new Datastore.DatastoreException(
                    $"requests that change data are refused from the web origin {http.Request.Headers.Origin}; list it in Diced:CorsWriteOrigins to allow it",
                    Datastore.ErrorKind.Forbidden);
            await next(http);
        });
}
