using Diced.Datastore;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints;

/// <summary>Repo-level routes: <c>/api/repo/{uuid}/…</c> (any node of the repo selects it).</summary>
public static class RepoEndpoints
{
    public static void MapRepoEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/api/repo/{uuid}", ["HEAD"], (string uuid, Datastore.Datastore ds) =>
        {
            ds.Resolve(uuid);
            return Results.Ok();
        });
        app.MapDelete("/api/repo/{uuid}", DeleteRepo);
        app.MapMethods("/api/repo/{uuid}/info", DvidRouting.GetAndHead, Info);
        app.MapPost("/api/repo/{uuid}/info", SetInfo);
        app.MapPost("/api/repo/{uuid}/instance", CreateInstance);
        app.MapMethods("/api/repo/{uuid}/log", DvidRouting.GetAndHead, GetLog);
        app.MapPost("/api/repo/{uuid}/log", AppendLog);
        app.MapMethods("/api/repo/{uuid}/branch-versions/{branch}", DvidRouting.GetAndHead, BranchVersions);
        app.MapDelete("/api/repo/{uuid}/{name}", DeleteInstance);
    }

    private static Task Info(HttpContext http, string uuid, Datastore.Datastore ds, RepoJson json)
    {
        var v = ds.Resolve(uuid);
        return DvidJson.WriteAsync(http, w => json.WriteRepoAsync(w, v.Repo, http.RequestAborted));
    }

    private static async Task SetInfo(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ds.Resolve(uuid);
        var config = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        await ds.SetRepoInfoAsync(v.Repo, config.GetValueOrDefault("alias"), config.GetValueOrDefault("description"), http.RequestAborted);
    }

    private static async Task CreateInstance(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ds.Resolve(uuid);
        var config = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var inst = await ds.CreateInstanceAsync(v, config, http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"result\": {DvidJson.Quote($"Added {inst.Name} [{inst.TypeName}] to node {v.Uuid}")}}}");
    }

    private static Task GetLog(HttpContext http, string uuid, Datastore.Datastore ds)
    {
        var v = ds.Resolve(uuid);
        return DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartObject();
            RepoJson.WriteStrings(w, "log", v.Repo.State.Log);
            w.WriteEndObject();
        });
    }

    private static async Task AppendLog(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ds.Resolve(uuid);
        using var body = JsonBody.ParseObject(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), allowEmpty: false);
        var lines = body.StringArray("log") ?? throw Reject.BadRequest("Could not find 'log' key in JSON body");
        await ds.AppendRepoLogAsync(v.Repo, lines, http.RequestAborted);
    }

    private static Task BranchVersions(HttpContext http, string uuid, string branch, Datastore.Datastore ds)
    {
        var v = ds.Resolve(uuid);
        var uuids = Datastore.Datastore.BranchVersions(v.Repo.State, branch);
        return DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartArray();
            foreach (var u in uuids) w.WriteStringValue(u);
            w.WriteEndArray();
        });
    }

    internal static void RequireImSure(HttpContext http)
    {
        if (http.Request.Query["imsure"] != "true")
            throw Reject.BadRequest("Deletion requires the query string 'imsure=true'");
    }

    private static async Task DeleteRepo(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        // Routing ignores a trailing slash: "DELETE /api/repo/U/" names no instance, and must not reach the repo.
        if (RawPath.Encoded(http).EndsWith('/'))
            throw Reject.BadRequest("DELETE of a repo must name it exactly (/api/repo/<uuid>); this path names an empty instance");
        RequireImSure(http);
        Admin.RequireForDestruction(http, o.Value, "Deleting a repo");
        var v = ds.Resolve(uuid);
        await ds.DeleteRepoAsync(v.Repo, http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"result\": \"Started deletion of repo containing UUID {v.Uuid}\"}}");
    }

    private static async Task DeleteInstance(HttpContext http, string uuid, string name, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        RequireImSure(http);
        Admin.RequireForDestruction(http, o.Value, "Deleting a data instance");
        var v = ds.Resolve(uuid);
        await ds.DeleteInstanceAsync(v.Repo, name, http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"result\": {DvidJson.Quote($"Started deletion of data instance \"{name}\" from repo with root {v.Repo.Root}")}}}");
    }
}
