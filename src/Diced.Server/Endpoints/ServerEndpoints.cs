using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints;

/// <summary>Server-level routes: <c>/api/server/…</c>, <c>/api/help</c>, <c>/api/heartbeat</c>, <c>/api/repos</c>.</summary>
public static class ServerEndpoints
{
    public const string DatastoreVersion = "0.11.0";

    public static void MapServerEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/api/server/info", DvidRouting.GetAndHead, Info);
        app.MapMethods("/api/server/types", DvidRouting.GetAndHead, (HttpContext http, Datastore.Datastore ds) => Types(http, ds, onlyUsed: true));
        app.MapMethods("/api/server/compiled-types", DvidRouting.GetAndHead, (HttpContext http, Datastore.Datastore ds) => Types(http, ds, onlyUsed: false));
        app.MapMethods("/api/server/note", DvidRouting.GetAndHead, (HttpContext http, IOptions<DicedOptions> o) => PlainText(http, o.Value.Note));
        app.MapMethods("/api/heartbeat", DvidRouting.GetAndHead, (HttpContext http) => PlainText(http, "OK"));
        app.MapMethods("/api/help", DvidRouting.GetAndHead, HelpIndex);
        app.MapMethods("/api/help/{typename}", DvidRouting.GetAndHead, TypeHelp);
        app.MapMethods("/api/repos/info", DvidRouting.GetAndHead, ReposInfo);
        app.MapPost("/api/repos", CreateRepo);
    }

    private static Task PlainText(HttpContext http, string text)
    {
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync(text);
    }

    private static Task Info(HttpContext http, Datastore.Datastore ds, IOptions<DicedOptions> options)
    {
        var uptime = DateTimeOffset.Now - ds.StartTime;
        var version = typeof(ServerEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";
        return DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartObject();
            w.WriteString("Cores", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
            w.WriteString("Maximum Cores", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
            w.WriteString("Datastore Version", DatastoreVersion);
            // Clients parse DVID's version ("v1.2.3", optionally "-N-gHASH"): neuclease picks formats by it.
            w.WriteString("DVID Version", $"v{version}");
            w.WriteString("Diced Version", version);
            w.WriteString("Storage backend", ds.Store.Description);
            w.WriteString("Server time", DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss.ffffff zzz", CultureInfo.InvariantCulture));
            w.WriteString("Server uptime", GoDuration(uptime));
            w.WriteString("RPC Address", "");
            w.WriteString("Host", http.Request.Host.Value ?? Dns.GetHostName());
            w.WriteString("Note", options.Value.Note);
            w.WriteString("TOML location", options.Value.TomlLocation);
            w.WriteString("Max Open Files", "0");
            w.WriteEndObject();
        });
    }

    /// <summary>Formats a duration the way Go's <c>time.Duration.String</c> does, e.g. <c>1h2m3.4s</c>.</summary>
    public static string GoDuration(TimeSpan t)
    {
        var sb = new StringBuilder();
        if (t.TotalHours >= 1) sb.Append((long)t.TotalHours).Append('h');
        if (t.TotalMinutes >= 1) sb.Append(t.Minutes).Append('m');
        double seconds = t.Seconds + t.Milliseconds / 1000.0;
        sb.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }

    private static Task Types(HttpContext http, Datastore.Datastore ds, bool onlyUsed)
    {
        var used = onlyUsed ? ds.Repos.SelectMany(r => r.State.Instances.Values.Select(i => i.TypeName)).ToHashSet() : null;
        return DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartObject();
            foreach (var t in ds.Types.All)
                if (used is null || used.Contains(t.Name)) w.WriteString(t.Name, t.Url);
            w.WriteEndObject();
        });
    }

    private static Task HelpIndex(HttpContext http, Datastore.Datastore ds)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><title>Diced API</title></head><body>");
        sb.Append("<h1>Diced: a DVID-compatible HTTP API</h1>");
        sb.Append("<p>Server: <code>/api/server/info</code>, <code>/api/server/types</code>, <code>/api/server/compiled-types</code>, ");
        sb.Append("<code>/api/heartbeat</code>, <code>/api/repos/info</code>, <code>POST /api/repos</code>.</p>");
        sb.Append("<p>Repos: <code>/api/repo/{uuid}/info</code>, <code>/instance</code>, <code>/log</code>, <code>/branch-versions/{branch}</code>; ");
        sb.Append("<code>DELETE /api/repo/{uuid}?imsure=true</code>, <code>DELETE /api/repo/{uuid}/{name}?imsure=true</code>.</p>");
        sb.Append("<p>Versions: <code>/api/node/{uuid}/commit</code>, <code>/status</code>, <code>/branch</code>, <code>/newversion</code>, ");
        sb.Append("<code>/tag</code>, <code>/log</code>, <code>/note</code>.</p>");
        sb.Append("<p>OpenAPI: <a href=\"/openapi/v1.json\">/openapi/v1.json</a>, <a href=\"/swagger\">Swagger UI</a>.</p><h2>Data types</h2><ul>");
        foreach (var t in ds.Types.All)
            sb.Append($"<li><a href=\"/api/help/{WebUtility.HtmlEncode(t.Name)}\">{WebUtility.HtmlEncode(t.Name)}</a></li>");
        sb.Append("</ul></body></html>");
        http.Response.ContentType = "text/html; charset=utf-8";
        return http.Response.WriteAsync(sb.ToString());
    }

    private static Task TypeHelp(HttpContext http, string typename, Datastore.Datastore ds)
    {
        var type = ds.Types.Find(typename) ?? throw Reject.BadRequest($"Data type \"{typename}\" is not supported by current DVID server");
        return PlainText(http, type.Help);
    }

    private static Task ReposInfo(HttpContext http, Datastore.Datastore ds, RepoJson json)
        => DvidJson.WriteAsync(http, async w =>
        {
            w.WriteStartObject();
            var caller = Auth.Caller.Of(http);
            var policy = caller is null ? null : http.RequestServices.GetRequiredService<Auth.AuthState>().Policy;
            foreach (var repo in ds.Repos)
            {
                // With authentication on, only the repos the caller may read are listed.
                if (caller is not null && !caller.ServerAdmin && policy!.RoleOf(caller.User, repo.State) < Auth.Role.Read) continue;
                w.WritePropertyName(repo.Root);
                await json.WriteRepoAsync(w, repo, http.RequestAborted);
            }
            w.WriteEndObject();
        });

    private static async Task CreateRepo(HttpContext http, Datastore.Datastore ds, IOptions<DicedOptions> options)
    {
        if (options.Value.RequireAdminToCreateRepos && !Admin.IsAdmin(http, options.Value))
            throw Reject.BadRequest("Creating a repo requires admin privileges (admintoken or DSG admin) on a server that is not read-only");
        var config = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, options.Value.MaxJsonBytes));
        var repo = await ds.CreateRepoAsync(
            config.GetValueOrDefault("alias", ""), config.GetValueOrDefault("description", ""),
            config.GetValueOrDefault("root"), config.GetValueOrDefault("passcode"), http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"root\": \"{repo.Root}\"}}");
    }
}

/// <summary>Admin privilege: <c>?admintoken=</c> matching the configured token (or DVID_ADMIN_TOKEN).</summary>
public static class Admin
{
    private static string? TokenOf(DicedOptions options) => options.AdminToken ?? Environment.GetEnvironmentVariable("DVID_ADMIN_TOKEN");

    /// <summary>Whether the request carries the configured admin token.</summary>
    public static bool HasAdminToken(HttpContext http, DicedOptions options)
    {
        var token = TokenOf(options);
        return !string.IsNullOrEmpty(token) && http.Request.Query["admintoken"] == token;
    }

    /// <summary>Admin privilege: the admin token, or (with authentication on) the admin role in the request's repo.</summary>
    public static bool IsAdmin(HttpContext http, DicedOptions options)
        => HasAdminToken(http, options) || Auth.Caller.Of(http) is { RepoRole: Auth.Role.Admin };

    /// <summary>Destructive routes (repo and instance deletion) need admin privilege whenever an admin token or authentication is configured.</summary>
    public static void RequireForDestruction(HttpContext http, DicedOptions options, string what)
    {
        if ((!string.IsNullOrEmpty(TokenOf(options)) || options.Auth.Enabled) && !IsAdmin(http, options))
            throw new Datastore.DatastoreException($"{what} requires the admin token on this server (?admintoken=)", Datastore.ErrorKind.Forbidden);
    }
}
