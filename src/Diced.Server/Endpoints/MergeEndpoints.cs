using Diced.Datastore;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints;

/// <summary>
/// DVID's <c>POST /api/repo/{uuid}/merge</c> and <c>/resolve</c>. Conflicts are found at merge time: a 409 whose JSON
/// body names every conflicting instance and its keys (or blocks, labels…), and nothing is created.
/// </summary>
public static class MergeEndpoints
{
    public static void MapMergeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/repo/{uuid}/merge", Merge);
        app.MapPost("/api/repo/{uuid}/resolve", Resolve);
    }

    private static async Task Merge(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var repo = ds.Resolve(uuid).Repo;
        using var body = JsonBody.ParseObject(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), allowEmpty: false);
        if (body.String("mergeType") != "conflict-free") throw Reject.BadRequest("'mergeType' must be 'conflict-free' at this time");
        var parents = body.StringArray("parents") ?? [];
        await AnswerAsync(http, () => ds.MergeAsync(repo, parents, body.String("note") ?? "", http.RequestAborted));
    }

    private static async Task Resolve(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        var repo = ds.Resolve(uuid).Repo;
        using var body = JsonBody.ParseObject(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes), allowEmpty: false);
        var data = body.StringArray("data") ?? [];
        var parents = body.StringArray("parents") ?? [];
        if (data.Count == 0) throw Reject.BadRequest("Must specify at least one data instance using 'data' field");
        await AnswerAsync(http, () => ds.ResolveAsync(repo, data, parents, body.String("note") ?? "", http.RequestAborted));
    }

    /// <summary><c>{"child": uuid}</c>, or a 409 listing the conflicts.</summary>
    private static async Task AnswerAsync(HttpContext http, Func<Task<string>> merge)
    {
        string child;
        try { child = await merge(); }
        catch (MergeConflictException e)
        {
            http.Response.StatusCode = StatusCodes.Status409Conflict;
            await DvidJson.WriteAsync(http, w =>
            {
                w.WriteStartObject();
                w.WriteString("error", e.Message);
                w.WriteStartArray("conflicts");
                foreach (var c in e.Conflicts)
                {
                    w.WriteStartObject();
                    w.WriteString("instance", c.Instance);
                    w.WriteString("type", c.TypeName);
                    RepoJson.WriteStrings(w, "keys", c.Keys);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        await DvidJson.WriteRawAsync(http, $"{{\"child\": \"{child}\"}}");
    }
}
