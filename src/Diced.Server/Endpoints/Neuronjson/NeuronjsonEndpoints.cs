using System.Globalization;
using System.Text.Json;
using Diced.Datastore.Types.Neuronjson;
using Diced.Server.Endpoints.Keyvalue;
using Diced.Server.Http;
using Diced.Server.Wire;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Neuronjson;

/// <summary>The <c>neuronjson</c> type's routes: an annotation per body id; listings, batches and queries are in <see cref="NeuronjsonQueries"/>.</summary>
public static class NeuronjsonEndpoints
{
    public static void MapNeuronjsonEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType("neuronjson");
        g.MapTags();
        foreach (var kind in NeuronAnnotations.SchemaKinds.Keys)
            g.MapMethods(kind, ["GET", "HEAD", "POST", "DELETE"], (HttpContext http, IOptions<DicedOptions> o) => Schema(http, kind, o.Value, requireUser: false));
        g.MapMethods("key/{key}", ["GET", "HEAD", "POST", "DELETE"], Key);
        g.MapPost("keyvalues", PostKeyValues);
        NeuronjsonQueries.Map(g);
    }

    internal static NeuronAnnotations Of(HttpContext http)
    {
        var ctx = http.Instance();
        return ctx.Store.NeuronAnnotationsOf(ctx.Data);
    }

    private static string User(HttpContext http) => Auth.Caller.UserOf(http);

    internal static FieldSelection Selection(HttpContext http)
        => FieldSelection.Parse(http.Request.Query["show"].ToString(), http.Request.Query["fields"].ToString());

    /// <summary>The schema documents: stored as sent, <c>json_schema</c> checked to compile; a GET of none is a 404.</summary>
    private static async Task Schema(HttpContext http, string kind, DicedOptions o, bool requireUser)
    {
        var a = Of(http);
        var ct = http.RequestAborted;
        switch (http.Request.Method)
        {
            case "GET":
            case "HEAD":
                var doc = await a.GetSchemaAsync(kind, ct);
                if (doc is null) { http.Response.StatusCode = StatusCodes.Status404NotFound; return; }
                http.Response.ContentType = "application/json";
                http.Response.ContentLength = doc.Length;
                if (HttpMethods.IsGet(http.Request.Method)) await http.Response.Body.WriteAsync(doc, ct);
                break;
            case "POST":
                if (requireUser && User(http).Length == 0) throw Reject.BadRequest("cannot alter neuronjson data without a valid user");
                await a.PutSchemaAsync(kind, await RequestBody.ReadAsync(http, o.MaxJsonBytes), ct);
                break;
            default:
                await a.DeleteSchemaAsync(kind, ct);
                break;
        }
    }

    private static async Task Key(HttpContext http, string key, IOptions<DicedOptions> o)
    {
        if (key is "schema" or "schema_batch") { await Schema(http, key, o.Value, requireUser: true); return; }
        var a = Of(http);
        var ct = http.RequestAborted;
        switch (http.Request.Method)
        {
            case "GET":
            {
                var body = NeuronAnnotations.ParseKey(key);
                var json = await a.GetAsync(body, ct) ?? throw Reject.NotFound($"Key \"{key}\" not found");
                using var doc = JsonDocument.Parse(json);
                await NeuronjsonQueries.WriteAsync(http, w => Selection(http).Write(w, doc.RootElement));
                break;
            }
            case "HEAD":
                if (!await a.ExistsAsync(NeuronAnnotations.ParseKey(key), ct)) http.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
            case "POST":
            {
                if (User(http).Length == 0) throw Reject.BadRequest("cannot alter neuronjson data without a valid user");
                if (key == "0") throw Reject.BadRequest("body id 0 is reserved and so cannot be stored");
                var body = BodyKey(key);
                await a.PostAsync([new NeuronAnnotations.Posted(body, await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes))],
                    User(http), Replace(http), Conditional(http), ct);
                break;
            }
            default:
                await a.DeleteAsync(NeuronAnnotations.ParseKey(key), User(http), ct);
                break;
        }
    }

    /// <summary>The body id a POSTed key names, with DVID's message when it names none.</summary>
    private static ulong BodyKey(string key)
        => Datastore.GoStrconv.TryParseUint(key, out var id, out var error) ? id : throw Reject.BadRequest($"key \"{key}\" must be a valid uint64: {error}");

    private static bool Replace(HttpContext http) => http.Request.Query["replace"] == "true";

    /// <summary><c>conditional=f1,f2</c> (DVID also reads <c>conditionals</c>).</summary>
    private static HashSet<string> Conditional(HttpContext http)
    {
        var text = http.Request.Query["conditional"].ToString();
        if (text.Length == 0) text = http.Request.Query["conditionals"].ToString();
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary><c>POST keyvalues</c>: protobuf KeyValues, each merged as a POST of its key would be, all in one commit.</summary>
    private static async Task PostKeyValues(HttpContext http, IOptions<DicedOptions> o)
    {
        var pairs = KeyValueMessages.ReadKeyValues(await RequestBody.ReadAsync(http, o.Value.MaxValueBytes));
        var posted = pairs.Select(p => new NeuronAnnotations.Posted(BodyKey(p.Key), p.Value)).ToList();
        await Of(http).PostAsync(posted, User(http), Replace(http), Conditional(http), http.RequestAborted);
    }
}
