using Diced.Datastore;

namespace Diced.Server.Http;

/// <summary>Routing conventions of DVID's goji router, on ASP.NET endpoint routing.</summary>
public static class DvidRouting
{
    /// <summary>The methods of a GET route, which also answers HEAD (goji registers both). Routes are mapped with
    /// <c>MapMethods(pattern, GetAndHead, handler)</c> at each call site, so the request delegate generator sees them.</summary>
    public static readonly string[] GetAndHead = ["GET", "HEAD"];

    /// <summary>Marks a POST that only reads (e.g. roi <c>ptquery</c>), so locked nodes accept it.</summary>
    public static TBuilder AllowOnLockedNode<TBuilder>(this TBuilder b) where TBuilder : IEndpointConventionBuilder
        => b.WithMetadata(ReadOnlyRequest.Instance);

    /// <summary>
    /// A group for one data type's routes under <c>/api/node/{uuid}/{name}</c>. Its routes match only instances of
    /// those types, and mutations of versioned instances at locked nodes are refused before the handler runs.
    /// </summary>
    public static RouteGroupBuilder MapDataType(this IEndpointRouteBuilder app, params string[] typeNames)
    {
        var group = app.MapGroup($"/api/node/{{uuid}}/{{name:{DataTypeConstraint.Name}({string.Join('|', typeNames)})}}");
        group.AddEndpointFilter(async (ctx, next) =>
        {
            var http = ctx.HttpContext;
            var inst = http.Instance();
            if (IsMutation(http))
            {
                if (Datastore.Types.ImageBlock.ImagePyramid.LevelOf(inst.Instance) is > 0 and var level)
                    throw Reject.BadRequest($"\"{inst.Instance.Name}\" is level {level} of a pyramid, kept current from the writes of level 0; write to the instance it is a level of");
                if (inst.Instance.Versioned && inst.Version.Node.Locked && !inst.MayWriteLocked)
                {
                    var keyword = http.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(4) ?? "";
                    throw Reject.BadRequest($"Cannot do {http.Request.Method.ToUpperInvariant()} on endpoint \"{keyword}\" of locked node {inst.Version.Uuid}");
                }
            }
            return await next(ctx);
        });
        return group;
    }

    private static bool IsMutation(HttpContext http)
        => http.Request.Method is "POST" or "PUT" or "DELETE" && http.GetEndpoint()?.Metadata.GetMetadata<ReadOnlyRequest>() is null;

    /// <summary>Answers what no route matched, and wrong methods on known routes, with goji's 404.</summary>
    public static void MapNotFound(this IEndpointRouteBuilder app)
    {
        app.MapFallback("{**path}", (HttpContext http) => NotFound(http));
    }

    public static Task NotFound(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status404NotFound;
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync("404 page not found\n");
    }

    /// <summary>HEAD runs the GET handler and sends its headers only (whatever server hosts the app).</summary>
    public static IApplicationBuilder UseHeadWithoutBody(this IApplicationBuilder app)
        => app.Use(async (http, next) =>
        {
            if (!HttpMethods.IsHead(http.Request.Method))
            {
                await next(http);
                return;
            }
            var original = http.Response.Body;
            http.Response.Body = Stream.Null;
            try { await next(http); }
            finally { http.Response.Body = original; }
        });

    /// <summary>Endpoint routing turns a method mismatch into 405; DVID (goji) answers 404.</summary>
    public static IApplicationBuilder UseNotFoundForWrongMethod(this IApplicationBuilder app)
        => app.Use(async (http, next) =>
        {
            if (http.GetEndpoint()?.DisplayName == "405 HTTP Method Not Supported")
            {
                await NotFound(http);
                return;
            }
            await next(http);
        });

}

/// <summary>Marks a POST route that only reads (see <see cref="DvidRouting.AllowOnLockedNode"/>).</summary>
public sealed class ReadOnlyRequest
{
    public static readonly ReadOnlyRequest Instance = new();
}

/// <summary>Route constraint <c>{name:datatype(a|b)}</c>: matches when the instance at <c>{uuid}</c> has one of those types.</summary>
public sealed class DataTypeConstraint(string types) : IRouteConstraint
{
    public const string Name = "datatype";
    private readonly string[] _types = types.Split('|');

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        if (httpContext is null) return false;
        var ctx = InstanceResolver.TryResolve(httpContext, values["uuid"] as string, values[routeKey] as string);
        return ctx is not null && Array.IndexOf(_types, ctx.Instance.TypeName) >= 0;
    }
}
