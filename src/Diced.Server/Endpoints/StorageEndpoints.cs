using Diced.Server.Http;
using Diced.Server.Json;

namespace Diced.Server.Endpoints;

/// <summary><c>GET /api/repo/{uuid}/storage</c> (beyond DVID): what each instance and version of a repo keeps in its store.</summary>
public static class StorageEndpoints
{
    public static void MapStorageEndpoints(this IEndpointRouteBuilder app)
        => app.MapMethods("/api/repo/{uuid}/storage", DvidRouting.GetAndHead, Storage);

    /// <summary>
    /// <c>{"Root": uuid, "Instances": [{"Name", "TypeName", "Keys", "Bytes", "Versions": [{"UUID", "VersionID", "Keys",
    /// "Bytes"}, …]}, …]}</c>, one instance at a time as each is counted (a large store takes as long as listing it), so
    /// a store failing part-way cuts the answer short (invalid JSON) rather than turning it into an error status. HEAD
    /// only checks the repo.
    /// </summary>
    private static async Task Storage(HttpContext http, string uuid, Datastore.Datastore ds)
    {
        var v = ds.Resolve(uuid);
        if (HttpMethods.IsHead(http.Request.Method))
        {
            http.Response.ContentType = "application/json";
            return;
        }
        var ct = http.RequestAborted;
        await DvidJson.WriteAsync(http, async w =>
        {
            w.WriteStartObject();
            w.WriteString("Root", v.Repo.Root);
            w.WriteStartArray("Instances");
            await foreach (var inst in ds.StorageAsync(v.Repo, ct))
            {
                w.WriteStartObject();
                w.WriteString("Name", inst.Name);
                w.WriteString("TypeName", inst.TypeName);
                w.WriteNumber("Keys", inst.Keys);
                w.WriteNumber("Bytes", inst.Bytes);
                w.WriteStartArray("Versions");
                foreach (var ver in inst.Versions)
                {
                    w.WriteStartObject();
                    if (ver.Uuid is null) w.WriteNull("UUID"); else w.WriteString("UUID", ver.Uuid);
                    w.WriteNumber("VersionID", ver.VersionId);
                    w.WriteNumber("Keys", ver.Keys);
                    w.WriteNumber("Bytes", ver.Bytes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                await w.FlushAsync(ct);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
