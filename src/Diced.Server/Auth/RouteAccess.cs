using Diced.Server.Http;

namespace Diced.Server.Auth;

/// <summary>What a route needs, in increasing order.</summary>
public enum Access
{
    /// <summary>Anyone, signed in or not (server info, help, health, metrics; repo listings are filtered by role).</summary>
    Public,
    /// <summary>Any signed-in caller (<c>/api/server/token</c>).</summary>
    SignedIn,
    /// <summary>The read role in the request's repo.</summary>
    Read,
    /// <summary>The write role in the request's repo.</summary>
    Write,
    /// <summary>The admin role in the request's repo (repo and instance deletion, setting label counters).</summary>
    RepoAdmin,
    /// <summary>A server-wide admin (repo creation, reloading the auth file).</summary>
    ServerAdmin,
}

/// <summary>
/// Every route's access, in one place: GET and HEAD read, other methods write, POSTs marked as reads
/// (<see cref="DvidRouting.AllowOnLockedNode"/>) read; the exceptions are listed here. The route meta-test walks every
/// mapped route with anonymous, reader, writer and admin callers against this table.
/// </summary>
public static class RouteAccess
{
    private static readonly Dictionary<string, Access> Exceptions = new(StringComparer.Ordinal)
    {
        ["GET /api/server/info"] = Access.Public, ["GET /api/server/types"] = Access.Public, ["GET /api/server/compiled-types"] = Access.Public,
        ["GET /api/server/note"] = Access.Public, ["GET /api/heartbeat"] = Access.Public, ["GET /api/help"] = Access.Public,
        ["GET /api/help/{typename}"] = Access.Public, ["GET /api/repos/info"] = Access.Public,
        ["GET /healthz"] = Access.Public, ["GET /readyz"] = Access.Public, ["GET /metrics"] = Access.Public,
        ["GET /openapi/v1.json"] = Access.Public,
        ["GET /api/server/token"] = Access.SignedIn, ["GET /api/server/whoami"] = Access.Public,
        ["POST /api/repos"] = Access.ServerAdmin, ["POST /api/server/reload-auth"] = Access.ServerAdmin,
        ["DELETE /api/repo/{uuid}"] = Access.RepoAdmin, ["DELETE /api/repo/{uuid}/{name}"] = Access.RepoAdmin,
        ["DELETE /api/node/{uuid}"] = Access.RepoAdmin, ["POST /api/repo/{uuid}/archive/{branch}"] = Access.RepoAdmin,
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/maxlabel/{label}"] = Access.RepoAdmin,
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/set-nextlabel/{label}"] = Access.RepoAdmin,
    };

    /// <summary>The access <paramref name="method"/> on <paramref name="endpoint"/> needs (no endpoint: static files, public).</summary>
    public static Access Of(Endpoint? endpoint, string method)
    {
        if (endpoint is not RouteEndpoint e) return Access.Public;
        var m = HttpMethods.IsHead(method) ? "GET" : method.ToUpperInvariant();
        var pattern = "/" + (e.RoutePattern.RawText ?? "").TrimStart('/');
        if (Exceptions.TryGetValue($"{m} {pattern}", out var access)) return access;
        if (pattern.StartsWith("/swagger", StringComparison.Ordinal) || pattern == "/{**path}") return Access.Public;
        if (m is "GET" or "OPTIONS" || e.Metadata.GetMetadata<ReadOnlyRequest>() is not null) return Access.Read;
        return Access.Write;
    }

    /// <summary>The table's entries, for the meta-test (each must still name a mapped route).</summary>
    public static IReadOnlyCollection<string> Listed => Exceptions.Keys;
}
