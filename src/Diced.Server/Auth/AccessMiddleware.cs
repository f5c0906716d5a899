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
    public async Task InvokeAsync(HttpContext http)
    {
        var result = await http.AuthenticateAsync(AuthSetup.Scheme);
        if (result.Failure is { } failure)
        {
            await DenyAsync(http, StatusCodes.Status401Unauthorized, $"invalid token: {AuthSetup.Describe(failure)}");
            return;
        }
        if (result.Succeeded) http.User = result.Principal!;
        string? user = result.Succeeded ? http.User.FindFirst(AuthSetup.UserClaim)?.Value : null;
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
