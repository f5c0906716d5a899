using Diced.Datastore;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints;

/// <summary>
/// Version operations beyond DVID's HTTP API: the diff of an instance between two versions, and deleting a leaf
/// version with everything only it wrote (DVID has no route for it; dvid#80).
/// </summary>
public static class VersionEndpoints
{
    public static void MapVersionEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/api/node/{uuid}/{name}/diff/{other}", DvidRouting.GetAndHead, Diff);
        app.MapDelete("/api/node/{uuid}", DeleteNode);
        app.MapPost("/api/repo/{uuid}/archive/{branch}", Archive);
    }

    /// <summary><c>POST /api/repo/{uuid}/archive/{branch}</c>: every version of the branch becomes read-only for good.</summary>
    private static async Task Archive(HttpContext http, string uuid, string branch, Datastore.Datastore ds, IOptions<DicedOptions> o)
    {
        Admin.RequireForDestruction(http, o.Value, "Archiving a branch");
        var v = ds.Resolve(uuid);
        var archived = await ds.ArchiveBranchAsync(v.Repo, branch, http.RequestAborted);
        await DvidJson.WriteAsync(http, w =>
        {
            w.WriteStartObject();
            RepoJson.WriteStrings(w, "archived", archived);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>{"from": uuid, "to": other, "instance": name, "type": typename, "changes": [{"key": …, "change":
    /// "added|removed|modified"}, …]}</c>, streamed in key order.
    /// </summary>
    private static async Task Diff(HttpContext http, string uuid, string name, string other, Datastore.Datastore ds)
    {
        var from = ds.Resolve(uuid);
        var to = ds.Resolve(other);
        var inst = ds.GetInstance(from, name);
        var ct = http.RequestAborted;
        var changes = ds.DiffAsync(from, to, inst, ct).GetAsyncEnumerator(ct);
        // The first change is computed before the answer starts, so a failure is still a clean error status.
        bool any = await changes.MoveNextAsync();
        async ValueTask Write(System.Text.Json.Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("from", from.Uuid);
            w.WriteString("to", to.Uuid);
            w.WriteString("instance", inst.Name);
            w.WriteString("type", inst.TypeName);
            w.WriteStartArray("changes");
            int n = 0;
            for (bool more = any; more; more = await changes.MoveNextAsync())
            {
                w.WriteStartObject();
                w.WriteString("key", changes.Current.Key);
                w.WriteString("change", changes.Current.Change);
                w.WriteEndObject();
                if (++n % 1000 == 0) await w.FlushAsync(ct);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        await DvidJson.WriteAsync(http, Write);
        await changes.DisposeAsync();
    }

    /// <summary><c>DELETE /api/node/{uuid}?imsure=true</c>: a leaf version and its data; answers what was removed.</summary>
    private static async Task DeleteNode(HttpContext http, string uuid, Datastore.Datastore ds, IOptions<DicedOptions> o, ILoggerFactory logs)
    {
        if (RawPath.Encoded(http).EndsWith('/'))
            throw Reject.BadRequest("DELETE of a version must name it exactly (/api/node/<uuid>)");
        RepoEndpoints.RequireImSure(http);
        Admin.RequireForDestruction(http, o.Value, "Deleting a version");
        var v = ds.Resolve(uuid);
        var log = logs.CreateLogger("Diced.Versions");
        // Large versions report as they go (every batch of keys removed).
        var progress = new Progress<long>(n => log.LogInformation("Deleting version {Uuid}: {Keys} keys removed so far", v.Uuid, n));
        long keys = await ds.DeleteNodeAsync(v, progress, http.RequestAborted);
        await DvidJson.WriteRawAsync(http, $"{{\"result\": \"Deleted version {v.Uuid} and {keys} keys only it wrote\"}}");
    }
}
