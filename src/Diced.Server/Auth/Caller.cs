using Diced.Datastore;

namespace Diced.Server.Auth;

/// <summary>Who a request is from, as the access check found it: the signed-in user (null: anonymous) and their roles.</summary>
public sealed record Caller(string? User, bool ServerAdmin, Role RepoRole)
{
    private static readonly object Key = new();

    public static Caller? Of(HttpContext http) => http.Items.TryGetValue(Key, out var c) ? (Caller?)c : null;

    internal void Attach(HttpContext http) => http.Items[Key] = this;

    /// <summary>The user a change is recorded under: the signed-in user, else DVID's self-declared <c>?u=</c>.</summary>
    public static string UserOf(HttpContext http) => Of(http)?.User ?? http.Request.Query["u"].ToString();
}
