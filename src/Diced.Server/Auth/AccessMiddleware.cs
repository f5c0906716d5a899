using Diced.Datastore;
using Diced.Server.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Diced.Server.Auth;

/// <summary>
/// With <c>Diced:Auth:Enabled</c>: authenticates the bearer token (ASP.NET's JWT bearer handler), finds the caller's
/// role in the request's repo and refuses what the route's access (<see cref="RouteAccess"/>) does not allow:
/// 401 for an anonymous caller or a bad token, 403 for a signed-in one, with a one-line reason.
/// <c>?admintoken=</c> (DVID's admin token) makes the caller a server admin.
/// </summary>
public sealed class AccessMiddleware(RequestDelegate next, AuthState auth, Datastore.Datastore store, IOptions<DicedOptions> options)
{
    /// <summary>Tokens checked recently: the signature is verified once, the lifetime on every request.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string? User, DateTime Expires)> _checked = new(StringComparer.Ordinal);
    private static readonly TimeSpan Remember = TimeSpan.FromMinutes(5);

    public async Task InvokeAsync(HttpContext http)
    {
        string? user;
        var header = http.Request.Headers.Authorization.ToString();
        if (header.Length > 0 && _checked.TryGetValue(header, out var seen) && DateTime.UtcNow < seen.Expires) user = seen.User;
        else
        {
            var result = await http.AuthenticateAsync(AuthSetup.Scheme);
            if (result.Failure is { } failure)
            {
                await DenyAsync(http, StatusCodes.Status401Unauthorized, $"invalid token: {AuthSetup.Describe(failure)}");
                return;
            }
            user = result.Succeeded ? result.Principal!.FindFirst(AuthSetup.UserClaim)?.Value : null;
            if (result.Succeeded && header.Length > 0)
            {
                var expires = DateTime.UtcNow + Remember;
                if (result.Properties?.ExpiresUtc is { } exp && exp.UtcDateTime < expires) expires = exp.UtcDateTime;
                if (result.Principal!.FindFirst("exp")?.Value is { } e && long.TryParse(e, out var unix) && DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime < expires)
                    expires = DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime;
                if (_checked.Count > 10_000) _checked.Clear();
                _checked[header] = (user, expires);
            }
        }
        var policy = auth.Policy;
        bool serverAdmin = policy.IsServerAdmin(user) || Endpoints.Admin.HasAdminToken(http, options.Value);
        var repo = RepoOf(http);
        var role = serverAdmin ? Role.Admin : policy.RoleOf(user, repo);
        new Caller(user, serverAdmin, role).Attach(http);

        var access = RouteAccess.Of(http.GetEndpoint(), http.Request.Method);
        bool allowed = access switch
        {
            Access.Public => true,
            Access.SignedIn => user is not null || serverAdmin,
            Access.Read => role >= Role.Read,
            Access.Write => role >= Role.Write,
            Access.RepoAdmin => role >= Role.Admin,
            _ => serverAdmin,
        };
        if (allowed) { await next(http); return; }
        var need = access switch
        {
            Access.SignedIn => "a signed-in caller", Access.Read => "the read role", Access.Write => "the write role",
            Access.RepoAdmin => "the admin role", _ => "a server admin",
        };
        var where = repo is null || access is Access.SignedIn or Access.ServerAdmin ? "" : $" in repo {repo.Root}";
        if (user is null && !serverAdmin)
            await DenyAsync(http, StatusCodes.Status401Unauthorized, $"{http.Request.Method} {http.Request.Path} needs {need}{where}: send a token (Authorization: Bearer …)");
        else
            await DenyAsync(http, StatusCodes.Status403Forbidden, $"{user ?? "admin"} lacks {need}{where} for {http.Request.Method} {http.Request.Path}");
    }

    /// <summary>The repo of the route's <c>{uuid}</c>, or null (no uuid, or one that names nothing: the handler answers that).</summary>
    private RepoRecord? RepoOf(HttpContext http)
    {
        if (http.Request.RouteValues["uuid"] is not string uuid) return null;
        try { return store.Resolve(uuid).Repo.State; }
        catch (DatastoreException) { return null; }
    }

    private static Task DenyAsync(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized) http.Response.Headers.WWWAuthenticate = "Bearer";
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync($"{message} ({http.Request.Path}).\n");
    }
}
