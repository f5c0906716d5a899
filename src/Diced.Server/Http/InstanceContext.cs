using Diced.Datastore;
using Diced.Datastore.Versioning;

namespace Diced.Server.Http;

/// <summary>The data instance and version a request under <c>/api/node/{uuid}/{name}/…</c> addresses.</summary>
public sealed class InstanceContext(Datastore.Datastore store, VersionRef version, InstanceRecord instance, Func<bool>? mayWriteLocked = null)
{
    private VersionedData? _data;
    // Decided when first needed, not when the route matched: the access check (which finds admins) runs after routing.
    private bool? _mayWriteLocked;

    public Datastore.Datastore Store => store;
    public VersionRef Version => version;
    public InstanceRecord Instance => instance;

    /// <summary>Reads and writes of this instance at this version.</summary>
    public VersionedData Data => _data ??= store.DataAt(version, instance, MayWriteLocked);

    /// <summary>Whether this request may change a locked node (DVID's <c>-fullwrite</c>, or admin privilege).</summary>
    public bool MayWriteLocked => _mayWriteLocked ??= mayWriteLocked?.Invoke() ?? false;
}

/// <summary>Resolves <c>{uuid}</c> and <c>{name}</c> once per request and keeps the result in the request's items.</summary>
public static class InstanceResolver
{
    private static readonly object ItemKey = new();
    private static readonly object ErrorKey = new();

    /// <summary>The instance, or null with the reason kept for <see cref="Require"/>.</summary>
    public static InstanceContext? TryResolve(HttpContext http, string? uuid, string? name)
    {
        if (http.Items.TryGetValue(ItemKey, out var cached)) return (InstanceContext?)cached;
        InstanceContext? ctx = null;
        try
        {
            var store = http.RequestServices.GetRequiredService<Datastore.Datastore>();
            var version = store.Resolve(uuid ?? "");
            var modes = http.RequestServices.GetRequiredService<WriteModes>();
            ctx = new InstanceContext(store, version, store.GetInstanceOrLevel(version, name ?? ""), () => modes.MayWriteLockedNodes(http));
        }
        catch (DatastoreException e)
        {
            http.Items[ErrorKey] = e;
        }
        http.Items[ItemKey] = ctx;
        return ctx;
    }

    /// <summary>The instance the route resolved; throws the resolution failure otherwise.</summary>
    public static InstanceContext Require(HttpContext http)
    {
        var route = http.Request.RouteValues;
        var ctx = TryResolve(http, route["uuid"] as string, route["name"] as string);
        if (ctx is not null) return ctx;
        throw (DatastoreException)http.Items[ErrorKey]!;
    }

    public static InstanceContext Instance(this HttpContext http) => Require(http);
}
