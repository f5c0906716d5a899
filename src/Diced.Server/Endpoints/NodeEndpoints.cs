using Diced.Datastore;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints;

/// <summary>Version (node) routes: <c>/api/node/{uuid}/{commit|status|branch|newversion|tag|log|note}</c>.</summary>
public static class NodeEndpoints
{
    public static void MapNodeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/api/node/{uuid}/commit", DvidRouting.GetAndHead, Status);
        app.MapMethods("/api/node/{uuid}/status", DvidRouting.GetAndHead, Status);
        app.MapPost("/api/node/{uuid}/commit", Commit);
        app.MapPost("/api/node/{uuid}/newversion", NewVersion);
        app.MapPost("/api/node/{uuid}/branch", Branch);
        app.MapPost("/api/node/{uuid}/tag", Tag);
        app.MapMethods("/api/node/{uuid}/note", DvidRouting.GetAndHead, GetNote);
        app.MapPost("/api/node/{uuid}/note", SetNote);
        app.MapMethods("/api/node/{uuid}/log", DvidRouting.GetAndHead, GetLog);
        app.MapPost("/api/node/{uuid}/log", AppendLog);
    }

    /// <summary>DVID's node middleware: only GET/HEAD (and branching actions) reach a locked node.</summary>
    private static VersionRef ResolveOpen(HttpContext http, Datastore.Datastore ds, string uuid)
    {
        var v = ds.Resolve(uuid);
        if (v.Node.Locked && !http.RequestServices.GetRequiredService<WriteModes>().MayWriteLockedNodes(http)) throw Reject.BadRequest($"Cannot do {http.Request.Method.ToLowerInvariant()} on locked node {v.Uuid}");
        return v;
    }

    private static async Task<JsonObjectBody> Body(HttpContext http, DicedOptions o, bool allowEmpty)
        => JsonBody.ParseObject(await RequestBody.ReadAsync(http, o.MaxJsonBytes), allowEmpty);

    private static Task Status(HttpContext http, string uuid, Datastore.Datastore ds)
        => DvidJson.WriteRawAsync(http, ds.Resolve(uuid).Node.Locked ? "{\"Locked\":true}" : "{\"Locked\":false}");

    private static async Task Commit(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ResolveOpen(http, ds, uuid);
        using var body = await Body(http, o.Value, allowEmpty: false);
        var committed = await ds.CommitAsync(v, body.String("note"), body.StringArray("log"), http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"committed\": \"{committed}\"}}");
    }

    private static async Task NewVersion(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ds.Resolve(uuid);
        using var body = await Body(http, o.Value, allowEmpty: true);
        var child = await ds.NewVersionAsync(v, body.String("note"), body.String("uuid"), http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"child\": \"{child}\"}}");
    }

    private static async Task Branch(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ds.Resolve(uuid);
        using var body = await Body(http, o.Value, allowEmpty: true);
        var child = await ds.BranchAsync(v, body.String("branch"), body.String("note"), body.String("uuid"), http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"child\": \"{child}\"}}");
    }

    private static async Task Tag(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ds.Resolve(uuid);
        using var body = await Body(http, o.Value, allowEmpty: false);
        var tag = body.String("tag") ?? throw Reject.BadRequest("POST on tag endpoint requires a 'tag' string");
        var child = await ds.TagAsync(v, tag, body.String("note"), http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"child\": {DvidJson.Quote(child)}}}");
    }

    private static Task GetNote(HttpContext http, string uuid, Datastore.Datastore ds)
    {
        var v = ds.Resolve(uuid);
        return DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartObject();
            w.WriteString("note", v.Node.Note);
            w.WriteEndObject();
        });
    }

    private static async Task SetNote(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ResolveOpen(http, ds, uuid);
        using var body = await Body(http, o.Value, allowEmpty: false);
        var note = body.String("note") ?? throw Reject.BadRequest("Could not find 'note' key in JSON body");
        await ds.SetNoteAsync(v, note, http.RequestAborted);
    }

    private static Task GetLog(HttpContext http, string uuid, Datastore.Datastore ds)
    {
        var v = ds.Resolve(uuid);
        return DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartObject();
            RepoJson.WriteStrings(w, "log", v.Node.Log);
            w.WriteEndObject();
        });
    }

    private static async Task AppendLog(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var v = ResolveOpen(http, ds, uuid);
        using var body = await Body(http, o.Value, allowEmpty: false);
        var lines = body.StringArray("log") ?? throw Reject.BadRequest("Could not find 'log' key in JSON body");
        await ds.AppendNodeLogAsync(v, lines, http.RequestAborted);
    }
}
