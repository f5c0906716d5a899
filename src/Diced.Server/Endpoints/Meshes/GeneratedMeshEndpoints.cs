using Diced.Datastore;
using Diced.Datastore.Types.KeyValue;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Meshes;

/// <summary>
/// The generated <c>{labels}_meshes</c> instances (see <c>Datastore.Meshes</c>): <c>key/{body}.ngmesh</c> builds the
/// body's mesh; an upload makes the instance a real keyvalue instance, in which uploads win and missing meshes are
/// built (<see cref="TryServeAsync"/>, used by the keyvalue routes).
/// </summary>
public static class GeneratedMeshEndpoints
{
    public static void MapGeneratedMeshEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup($"/api/node/{{uuid}}/{{name:{GeneratedMeshesConstraint.Name}}}");
        g.MapMethods("info", DvidRouting.GetAndHead, (HttpContext http, RepoJson json) =>
        {
            var (version, inst) = Resolve(http);
            return DvidJson.WriteAsync(http, w => json.WriteInstanceAsync(w, new InstanceContext(Store(http), version, inst), http.RequestAborted));
        });
        g.MapMethods("keys", DvidRouting.GetAndHead, (HttpContext http) => DvidJson.WriteRawAsync(http, "[]"));
        g.MapMethods("key/{key}", DvidRouting.GetAndHead, async (HttpContext http, string key) =>
        {
            var (version, inst) = Resolve(http);
            var labels = version.Repo.State.Instances[inst.Syncs[0]];
            if (!await TryServeAsync(http, version, labels, key)) throw Reject.NotFound($"Key \"{key}\" not found");
        });
        g.MapMethods("key/{key}", ["POST", "PUT"], async (HttpContext http, string key, IOptions<DicedOptions> o) =>
        {
            var (version, inst) = Resolve(http);
            var value = await RequestBody.ReadAsync(http, o.Value.MaxValueBytes);
            var made = await Store(http).MaterializeMeshInstanceAsync(version, inst.Name, http.RequestAborted);
            await new KeyValueData(Store(http).DataAt(version, made)).PutAsync(key, value, http.RequestAborted);
        });
        g.MapDelete("key/{key}", () => Results.Ok()); // nothing uploaded yet: nothing to delete
    }

    private static Datastore.Datastore Store(HttpContext http) => http.RequestServices.GetRequiredService<Datastore.Datastore>();

    private static (VersionRef Version, InstanceRecord Instance) Resolve(HttpContext http)
    {
        var version = Store(http).Resolve(http.Request.RouteValues["uuid"] as string ?? "");
        var inst = Store(http).GeneratedMeshInstance(version, http.Request.RouteValues["name"] as string ?? "")
            ?? throw Reject.BadRequest("invalid data instance name");
        return (version, inst);
    }

    /// <summary>
    /// Answers <c>{body}.ngmesh</c> with the body's mesh built from <paramref name="labels"/> (a HEAD only checks that the
    /// body exists); false when the key names no body there.
    /// </summary>
    public static async Task<bool> TryServeAsync(HttpContext http, VersionRef version, InstanceRecord labels, string key)
    {
        var store = Store(http);
        if (HttpMethods.IsHead(http.Request.Method)) return await store.GeneratedMeshExistsAsync(version, labels, key, http.RequestAborted);
        var mesh = await store.GeneratedMeshAsync(version, labels, key, http.RequestAborted);
        if (mesh is null) return false;
        http.Response.ContentType = "application/octet-stream";
        http.Response.ContentLength = mesh.Length;
        await http.Response.Body.WriteAsync(mesh, http.RequestAborted);
        return true;
    }
}

/// <summary>Matches <c>{name}</c> when it names a generated <c>{labels}_meshes</c> instance (no real instance has the name).</summary>
public sealed class GeneratedMeshesConstraint : IRouteConstraint
{
    public const string Name = "generatedmeshes";

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        if (httpContext is null || values[routeKey] is not string name || !name.EndsWith(Datastore.Datastore.MeshesSuffix, StringComparison.Ordinal)) return false;
        var store = httpContext.RequestServices.GetRequiredService<Datastore.Datastore>();
        try { return store.GeneratedMeshInstance(store.Resolve(values["uuid"] as string ?? ""), name) is not null; }
        catch (DatastoreException) { return false; }
    }
}
