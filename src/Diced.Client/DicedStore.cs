using System.Text.Json;

namespace Diced.Client;

/// <summary>How <see cref="DicedStore.OpenAsync"/> runs a local store.</summary>
public sealed record DicedStoreOptions
{
    /// <summary>Port of the in-process server for a local, <c>s3://</c> or <c>gs://</c> store (0: any free port).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>Service-account key file for <c>gs://</c> stores (DICED's <c>permissionfile</c>).</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>More server settings, as command-line pairs (<c>"--Diced:S3:Endpoint", "http://…"</c>).</summary>
    public IReadOnlyList<string> ServerArguments { get; init; } = [];

    /// <summary>Log the in-process server's information messages too (otherwise only its warnings and errors).</summary>
    public bool Verbose { get; init; }

    /// <summary>Timeout of each HTTP request to the server.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The token sent as <c>Authorization: Bearer …</c> to a server with authentication on (default: <c>DICED_TOKEN</c>).</summary>
    public string? Token { get; init; } = Environment.GetEnvironmentVariable("DICED_TOKEN") is { Length: > 0 } t ? t : null;

    internal HttpClient CreateHttpClient()
    {
        var http = new HttpClient { Timeout = RequestTimeout };
        if (Token is { } token) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}

/// <summary>A repo as listed by <see cref="DicedStore.ListReposAsync"/>.</summary>
public sealed record RepoInfo(string Name, string Root, string Description);

/// <summary>
/// A store of versioned repos: an existing Diced/DVID server (<c>dvid://host:port</c> or <c>http://host:port</c>), or a
/// local directory, <c>s3://bucket/prefix</c> or <c>gs://bucket/prefix</c> served by an in-process Diced server with its
/// web viewer (stopped on dispose; needs the Diced.Host package).
/// </summary>
public sealed class DicedStore : IAsyncDisposable, IDisposable
{
    private readonly DvidConnection _conn;
    private readonly ILocalServer? _server;

    private DicedStore(DvidConnection conn, ILocalServer? server)
    {
        _conn = conn;
        _server = server;
    }

    /// <summary>Where the store's server answers (the web viewer is at its root).</summary>
    public Uri Address => _conn.Address;

    internal DvidConnection Connection => _conn;

    public static async Task<DicedStore> OpenAsync(string location, DicedStoreOptions? options = null, CancellationToken ct = default)
    {
        options ??= new DicedStoreOptions();
        if (location.StartsWith("dvid://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var address = new Uri(location.StartsWith("dvid://", StringComparison.OrdinalIgnoreCase) ? "http://" + location["dvid://".Length..] : location);
            var conn = new DvidConnection(options.CreateHttpClient(), address);
            try
            {
                using var _ = await conn.GetJsonAsync("/api/server/info", ct);
            }
            catch (Exception e) when (e is DicedException or JsonException)
            {
                conn.Dispose();
                throw new DicedException($"no DVID server answers at {address}: {e.Message}", e);
            }
            return new DicedStore(conn, null);
        }
        var server = await LocalServers.StartAsync(location, options, ct);
        return new DicedStore(new DvidConnection(options.CreateHttpClient(), server.Address), server);
    }

    /// <summary>Who the server takes this store's requests to be from (null: anonymous, or a server without authentication).</summary>
    public async Task<string?> WhoAmIAsync(CancellationToken ct = default)
    {
        using var doc = await _conn.GetJsonAsync("/api/server/whoami", ct);
        return doc.RootElement.TryGetProperty("User", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
    }

    /// <summary>Every repo: its name (alias), root UUID and description.</summary>
    public async Task<IReadOnlyList<RepoInfo>> ListReposAsync(CancellationToken ct = default)
    {
        using var doc = await _conn.GetJsonAsync("/api/repos/info", ct);
        var repos = new List<RepoInfo>();
        if (doc.RootElement.ValueKind != JsonValueKind.Object) return repos;
        foreach (var r in doc.RootElement.EnumerateObject())
        {
            if (r.Value.ValueKind != JsonValueKind.Object) continue;
            repos.Add(new RepoInfo(r.Value.GetProperty("Alias").GetString() ?? "", r.Value.GetProperty("Root").GetString() ?? r.Name,
                r.Value.TryGetProperty("Description", out var d) ? d.GetString() ?? "" : ""));
        }
        return repos.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Creates a repo with a unique name; returns it opened at its root version.</summary>
    public async Task<DicedRepo> CreateRepoAsync(string name, string description = "", CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new DicedException("a repo needs a name");
        if ((await ListReposAsync(ct)).Any(r => r.Name == name)) throw new DicedException($"a repo named \"{name}\" already exists");
        using var doc = await _conn.PostJsonAsync("/api/repos", new { alias = name, description }, ct);
        return await DicedRepo.OpenAsync(_conn, doc.RootElement.GetProperty("root").GetString()!, ct);
    }

    /// <summary>Opens a repo by name (at the leaf of its master branch) or at a version UUID (a unique prefix will do).</summary>
    public async Task<DicedRepo> OpenRepoAsync(string? name = null, string? uuid = null, CancellationToken ct = default)
    {
        if (uuid is not null) return await DicedRepo.OpenAsync(_conn, uuid, ct);
        var repo = (await ListReposAsync(ct)).FirstOrDefault(r => r.Name == name) ?? throw new DicedException($"no repo named \"{name}\"");
        using var versions = await _conn.GetJsonAsync($"/api/repo/{repo.Root}/branch-versions/master", ct);
        var leaf = versions.RootElement.GetArrayLength() > 0 ? versions.RootElement[0].GetString()! : repo.Root;
        return await DicedRepo.OpenAsync(_conn, leaf, ct);
    }

    /// <summary>Deletes a repo with every version and array (cannot be undone).</summary>
    public async Task DeleteRepoAsync(string name, CancellationToken ct = default)
    {
        var repo = (await ListReposAsync(ct)).FirstOrDefault(r => r.Name == name) ?? throw new DicedException($"no repo named \"{name}\"");
        using var _ = await _conn.SendAsync(HttpMethod.Delete, $"/api/repo/{repo.Root}?imsure=true", ct: ct);
    }

    public async ValueTask DisposeAsync()
    {
        _conn.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
