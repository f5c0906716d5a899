using System.Text.Json;
using Diced.Datastore;

namespace Diced.Server.Auth;

/// <summary>What a caller may do in a repo, in increasing order.</summary>
public enum Role { None, Read, Write, Admin }

/// <summary>
/// The auth file: roles per repo (by root UUID or alias, <c>*</c> for every repo) for anonymous callers, for any
/// signed-in user, per user and per group, and the server-wide admins:
/// <code>
/// {
///   "anonymous":     {"hemibrain": "read"},
///   "authenticated": {"*": "read"},
///   "users":  {"alice@lab.org": {"*": "write"}, "bob@lab.org": {"hemibrain": "admin"}},
///   "groups": {"proofreaders": {"members": ["carol@lab.org"], "repos": {"hemibrain": "write"}}},
///   "admins": ["root@lab.org"]
/// }
/// </code>
/// A caller's role in a repo is the highest that any of these gives; server-wide admins are admins everywhere and may
/// also create repos and reload this file. Unknown members are refused, so a typo cannot silently grant nothing.
/// </summary>
public sealed class AuthPolicy
{
    private Dictionary<string, Role> _anonymous = new(), _authenticated = new();
    private readonly Dictionary<string, Dictionary<string, Role>> _users = new(StringComparer.Ordinal);
    private readonly List<(HashSet<string> Members, Dictionary<string, Role> Repos)> _groups = [];
    private readonly HashSet<string> _admins = new(StringComparer.Ordinal);

    /// <summary>Without a file: signed-in users write everywhere, anonymous callers get nothing.</summary>
    public static AuthPolicy Default() => new() { _authenticated = new() { ["*"] = Role.Write } };

    public static AuthPolicy Load(string? path)
    {
        if (string.IsNullOrEmpty(path)) return Default();
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new InvalidOperationException($"cannot read the auth file {path}: {e.Message}"); }
        return Parse(text, path);
    }

    public static AuthPolicy Parse(string json, string source = "auth file")
    {
        var p = new AuthPolicy();
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidOperationException("it must be a JSON object");
            foreach (var member in doc.RootElement.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "anonymous": p._anonymous = Roles(member.Value, "anonymous"); break;
                    case "authenticated": p._authenticated = Roles(member.Value, "authenticated"); break;
                    case "users":
                        foreach (var u in Object(member.Value, "users").EnumerateObject()) p._users[u.Name] = Roles(u.Value, $"users.{u.Name}");
                        break;
                    case "groups":
                        foreach (var g in Object(member.Value, "groups").EnumerateObject())
                        {
                            var members = Object(g.Value, $"groups.{g.Name}").TryGetProperty("members", out var m) && m.ValueKind == JsonValueKind.Array
                                ? m.EnumerateArray().Select(e => e.GetString() ?? throw new InvalidOperationException($"groups.{g.Name}.members must be strings")).ToHashSet(StringComparer.Ordinal)
                                : throw new InvalidOperationException($"groups.{g.Name} needs \"members\": [user, …]");
                            var repos = g.Value.TryGetProperty("repos", out var r) ? Roles(r, $"groups.{g.Name}.repos") : [];
                            p._groups.Add((members, repos));
                        }
                        break;
                    case "admins":
                        if (member.Value.ValueKind != JsonValueKind.Array) throw new InvalidOperationException("\"admins\" must be a list of users");
                        foreach (var a in member.Value.EnumerateArray()) p._admins.Add(a.GetString() ?? throw new InvalidOperationException("\"admins\" must be a list of users"));
                        break;
                    default:
                        throw new InvalidOperationException($"unknown member \"{member.Name}\" (expected anonymous, authenticated, users, groups, admins)");
                }
            }
        }
        catch (JsonException e) { throw new InvalidOperationException($"{source} is not valid JSON: {e.Message}"); }
        catch (InvalidOperationException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal)) { throw new InvalidOperationException($"{source}: {e.Message}"); }
        return p;
    }

    private static JsonElement Object(JsonElement e, string where)
        => e.ValueKind == JsonValueKind.Object ? e : throw new InvalidOperationException($"{where} must be a JSON object");

    private static Dictionary<string, Role> Roles(JsonElement e, string where)
    {
        var roles = new Dictionary<string, Role>(StringComparer.Ordinal);
        foreach (var r in Object(e, where).EnumerateObject())
            roles[r.Name] = r.Value.GetString() switch
            {
                "none" => Role.None, "read" => Role.Read, "write" => Role.Write, "admin" => Role.Admin,
                var s => throw new InvalidOperationException($"{where}.{r.Name}: role \"{s}\" is not none, read, write or admin"),
            };
        return roles;
    }

    public bool IsServerAdmin(string? user) => user is not null && _admins.Contains(user);

    /// <summary>The role of <paramref name="user"/> (null: anonymous) in <paramref name="repo"/> (null: no particular repo).</summary>
    public Role RoleOf(string? user, RepoRecord? repo)
    {
        if (IsServerAdmin(user)) return Role.Admin;
        var role = In(_anonymous, repo);
        if (user is null) return role;
        role = Max(role, In(_authenticated, repo));
        if (_users.TryGetValue(user, out var mine)) role = Max(role, In(mine, repo));
        foreach (var (members, repos) in _groups)
            if (members.Contains(user)) role = Max(role, In(repos, repo));
        return role;
    }

    private static Role Max(Role a, Role b) => a > b ? a : b;

    private static Role In(Dictionary<string, Role> roles, RepoRecord? repo)
    {
        var role = roles.GetValueOrDefault("*");
        if (repo is null) return role;
        if (roles.TryGetValue(repo.Root, out var byRoot)) role = Max(role, byRoot);
        if (repo.Alias.Length > 0 && roles.TryGetValue(repo.Alias, out var byAlias)) role = Max(role, byAlias);
        return role;
    }
}
