using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints;

/// <summary>Routes every data instance has (<c>info</c>, <c>help</c>), and the answer for keywords its type lacks.</summary>
public static class InstanceEndpoints
{
    public static void MapInstanceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/api/node/{uuid}/{name}/info", ["GET", "HEAD", "POST"], Info);
        app.MapMethods("/api/node/{uuid}/{name}/help", DvidRouting.GetAndHead, Help);
        // Lowest precedence under /api/node: a bad UUID or name gets DVID's message, a known instance "Bad API call".
        app.Map("/api/node/{uuid}/{name}/{**rest}", BadApiCall);
    }

    private static Task Info(HttpContext http, RepoJson json)
    {
        var ctx = http.Instance();
        return DvidJson.WriteAsync(http, w => json.WriteInstanceAsync(w, ctx, http.RequestAborted));
    }

    private static Task Help(HttpContext http, Datastore.Datastore ds)
    {
        var ctx = http.Instance();
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync(ds.Types.Get(ctx.Instance.TypeName).Help);
    }

    /// <summary>DVID's answer to <c>POST …/info</c>: <c>Changed '&lt;name&gt;' based on received configuration:\n{map[k:v …]}\n</c>.</summary>
    public static Task WriteConfigChangedAsync(HttpContext http, string name, IReadOnlyDictionary<string, string> config)
    {
        var shown = string.Join(" ", config.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}:{kv.Value}"));
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync($"Changed '{name}' based on received configuration:\n{{map[{shown}]}}\n");
    }

    private static Task BadApiCall(HttpContext http)
    {
        var ctx = http.Instance();
        throw Reject.BadRequest($"Bad API call for data \"{ctx.Instance.Name}\".  See API help at http://{http.Request.Host}/api/help/{ctx.Instance.TypeName}");
    }

    /// <summary>Maps DVID's <c>POST …/sync</c> (<c>{"sync": "name1,name2"}</c>, <c>?replace=true</c>) for the types that keep syncs.</summary>
    public static void MapSync(this RouteGroupBuilder group)
    {
        group.MapPost("sync", async (HttpContext http, IOptions<DicedOptions> o) =>
        {
            var ctx = http.Instance();
            Dictionary<string, string>? body;
            try { body = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes)); }
            catch (System.Text.Json.JsonException e) { throw Reject.BadRequest($"Malformed JSON request in sync request: {e.Message}"); }
            if (body is null || !body.TryGetValue("sync", out var csv))
                throw Reject.BadRequest("Could not find 'sync' value in POSTed JSON to sync request.");
            var names = csv.Split(',', StringSplitOptions.TrimEntries).Where(n => n.Length > 0).ToList();
            bool replace = http.Request.Query["replace"] == "true";
            if (names.Count == 0 && !replace) return; // DVID ignores an empty append
            await ctx.Store.SyncAsync(ctx.Version, ctx.Instance.Name, names, replace, http.RequestAborted);
        });
    }

    /// <summary>Maps <c>GET/POST …/tags</c> for the types that keep tags (keyvalue, labelmap).</summary>
    public static void MapTags(this RouteGroupBuilder group)
    {
        group.MapMethods("tags", DvidRouting.GetAndHead, (HttpContext http) =>
        {
            var inst = http.Instance().Instance;
            return DvidJson.WriteAsync(http, w =>
            {
                w.WriteStartObject();
                w.WritePropertyName("Tags");
                RepoJson.WriteTags(w, inst);
                w.WriteEndObject();
            });
        });
        group.MapPost("tags", async (HttpContext http, IOptions<DicedOptions> o) =>
        {
            var ctx = http.Instance();
            var tags = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
            bool replace = http.Request.Query["replace"] == "true";
            await ctx.Store.UpdateInstanceAsync(ctx.Version.Repo, ctx.Instance.Name, inst =>
            {
                var current = replace || inst.Tags is null
                    ? System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal)
                    : inst.Tags;
                return inst with { Tags = current.SetItems(tags) };
            }, http.RequestAborted);
        });
    }
}
