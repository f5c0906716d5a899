using Diced.Codecs.Annotations;
using Diced.Datastore.Types.Annotation;
using Diced.Datastore.Types.Labels;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Annotation;

/// <summary>The <c>annotation</c> type's routes: the route table and the changes; reads are in <see cref="AnnotationQueries"/>.</summary>
public static class AnnotationEndpoints
{
    public static void MapAnnotationEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType("annotation");
        g.MapSync();
        g.MapTags();
        g.MapPost("elements", PostElements);
        g.MapPost("blocks", PostBlocks);
        g.MapDelete("element/{coord}", DeleteElement);
        g.MapPost("move/{from}/{to}", Move);
        g.MapPost("labels", PostLabels);
        g.MapPost("reload", async (HttpContext http) => { await Of(http).ReloadAsync(http.RequestAborted); });
        g.MapMethods("mutations", DvidRouting.GetAndHead, async (HttpContext http)
            => await DvidJson.WriteValueAsync(http, await Of(http).MutationsAsync(http.RequestAborted)));
        AnnotationQueries.Map(g);
    }

    /// <summary>The request's annotation instance, with its requester (<c>u=</c>, <c>app=</c>) recorded for the log.</summary>
    internal static Annotations Of(HttpContext http)
    {
        var ctx = http.Instance();
        return ctx.Store.AnnotationsOf(ctx.Data, new MutationContext(Auth.Caller.UserOf(http), http.Request.Query["app"].ToString()));
    }

    /// <summary>A position in the URL: <c>x_y_z</c>.</summary>
    internal static ElementPos ParsePos(string text, string what)
    {
        var p = GeometryStrings.ParsePoint(text, what);
        return new ElementPos(p.X, p.Y, p.Z);
    }

    private static async Task PostElements(HttpContext http, IOptions<DicedOptions> o)
    {
        var elements = ElementJson.ParseArray(await RequestBody.ReadAsync(http, o.Value.MaxValueBytes));
        await Of(http).PostElementsAsync(elements, http.RequestAborted);
    }

    private static async Task PostBlocks(HttpContext http, IOptions<DicedOptions> o)
    {
        var blocks = ElementJson.ParseBlocks(await RequestBody.ReadAsync(http, o.Value.MaxValueBytes));
        await Of(http).PostBlocksAsync(blocks, http.RequestAborted);
    }

    private static Task DeleteElement(HttpContext http, string coord)
        => Of(http).DeleteElementAsync(ParsePos(coord, "coordinate"), http.RequestAborted);

    private static Task Move(HttpContext http, string from, string to)
        => Of(http).MoveElementAsync(ParsePos(from, "from coordinate"), ParsePos(to, "to coordinate"), http.RequestAborted);

    /// <summary><c>POST labels</c>: <c>{"&lt;label&gt;": "&lt;JSON array of elements&gt;", …}</c>.</summary>
    private static async Task PostLabels(HttpContext http, IOptions<DicedOptions> o)
    {
        using var doc = JsonBody.Parse(await RequestBody.ReadAsync(http, o.Value.MaxValueBytes));
        if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            throw Reject.BadRequest("POST labels needs a JSON object of labels to strings holding JSON arrays of elements");
        var labels = new List<(ulong, List<Element>)>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (!ulong.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var label))
                throw Reject.BadRequest($"label \"{p.Name}\" is not a non-negative 64-bit integer");
            if (p.Value.ValueKind != System.Text.Json.JsonValueKind.String)
                throw Reject.BadRequest($"label {label}: the value must be a string holding a JSON array of elements");
            labels.Add((label, ElementJson.ParseArray(System.Text.Encoding.UTF8.GetBytes(p.Value.GetString()!))));
        }
        await Of(http).PostLabelsAsync(labels, http.RequestAborted);
    }
}
