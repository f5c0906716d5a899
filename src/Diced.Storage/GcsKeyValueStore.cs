using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Apis.Auth.OAuth2;

namespace Diced.Storage;

/// <summary>Settings of the Google Cloud Storage backend (JSON API).</summary>
public sealed record GcsStoreOptions
{
    /// <summary>API root; null means https://storage.googleapis.com (set it for a local stand-in).</summary>
    public string? Endpoint { get; init; }
    /// <summary>Service-account key file (DICED's <c>permissionfile</c>); null uses application-default credentials.</summary>
    public string? CredentialsFile { get; init; }
    /// <summary>Send no credentials (local stand-ins and public buckets).</summary>
    public bool Anonymous { get; init; }
    /// <summary>Create a missing bucket in this project (otherwise a missing bucket is an error at start).</summary>
    public bool CreateBucket { get; init; }
    public string? Project { get; init; }
    public int Parallelism { get; init; } = 16;
}

/// <summary>
/// The object operations of Google Cloud Storage's JSON API, under <see cref="ObjectKeyValueStore"/>. Version tags
/// are object generations; conditional writes use <c>ifGenerationMatch</c> (0 = only if absent).
/// </summary>
public sealed class GcsKeyValueStore : ObjectKeyValueStore
{
    private const string Scope = "https://www.googleapis.com/auth/devstorage.read_write";
    private readonly HttpClient _http;
    private readonly string _bucket, _api;
    private readonly ITokenAccess? _credential;

    private GcsKeyValueStore(HttpClient http, string api, string bucket, string prefix, ITokenAccess? credential, int parallelism) : base(prefix, parallelism)
    {
        _http = http;
        _api = api;
        _bucket = bucket;
        _credential = credential;
    }

    public override string Description => $"gcs @ gs://{_bucket}/{Prefix}";

    /// <summary>Connects to <c>gs://bucket/prefix</c>, checks (or creates) the bucket and replays journals.</summary>
    public static async Task<GcsKeyValueStore> OpenAsync(string bucket, string prefix, GcsStoreOptions options, CancellationToken ct = default)
    {
        ITokenAccess? credential = null;
        if (!options.Anonymous)
        {
            var google = options.CredentialsFile is not null
                ? CredentialFactory.FromFile<ServiceAccountCredential>(options.CredentialsFile).ToGoogleCredential()
                : await GoogleCredential.GetApplicationDefaultAsync(ct);
            credential = google.CreateScoped(Scope);
        }
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var api = (options.Endpoint ?? "https://storage.googleapis.com").TrimEnd('/');
        var store = new GcsKeyValueStore(http, api, bucket, prefix, credential, options.Parallelism);
        await store.EnsureBucketAsync(options, ct);
        await store.ReplayJournalsAsync(ct);
        return store;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        if (_credential is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _credential.GetAccessTokenForRequestAsync(cancellationToken: ct));
        HttpResponseMessage response;
        try { response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct); }
        catch (HttpRequestException e) { throw new TransientStoreException($"GCS request failed: {e.Message}"); }
        if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
            throw new TransientStoreException($"GCS answered {(int)response.StatusCode} to {method} {url}");
        return response;
    }

    private static async Task<IOException> Failure(HttpResponseMessage r, string what)
        => new($"GCS {what} failed: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");

    private string ObjectUrl(string name) => $"{_api}/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o/{Uri.EscapeDataString(name)}";

    private async Task EnsureBucketAsync(GcsStoreOptions options, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Get, $"{_api}/storage/v1/b/{Uri.EscapeDataString(_bucket)}", null, ct);
        if (r.IsSuccessStatusCode) return;
        if (r.StatusCode != HttpStatusCode.NotFound) throw await Failure(r, "bucket check");
        if (!options.CreateBucket) throw new IOException($"GCS bucket \"{_bucket}\" does not exist; create it or set CreateBucket");
        var body = JsonContent(JsonSerializer.SerializeToUtf8Bytes(new { name = _bucket }));
        using var c = await SendAsync(HttpMethod.Post, $"{_api}/storage/v1/b?project={Uri.EscapeDataString(options.Project ?? "")}", body, ct);
        if (!c.IsSuccessStatusCode && c.StatusCode != HttpStatusCode.Conflict) throw await Failure(c, "bucket creation");
    }

    private static ByteArrayContent JsonContent(byte[] json)
    {
        var c = new ByteArrayContent(json);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return c;
    }

    protected override async Task<TaggedValue?> GetObjectAsync(string name, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Get, ObjectUrl(name) + "?alt=media", null, ct);
        if (r.StatusCode == HttpStatusCode.NotFound) return null;
        if (!r.IsSuccessStatusCode) throw await Failure(r, $"read of {name}");
        var generation = r.Headers.TryGetValues("x-goog-generation", out var g) ? g.First() : "";
        return new TaggedValue(await r.Content.ReadAsByteArrayAsync(ct), generation);
    }

    protected override async Task<string?> PutObjectAsync(string name, byte[] data, bool conditional, string? expectedTag, CancellationToken ct)
    {
        if (conditional && expectedTag is not null && !long.TryParse(expectedTag, out _)) return null; // not a generation: cannot match
        var url = $"{_api}/upload/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o?uploadType=media&name={Uri.EscapeDataString(name)}";
        if (conditional) url += $"&ifGenerationMatch={(expectedTag is null ? "0" : Uri.EscapeDataString(expectedTag))}";
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var r = await SendAsync(HttpMethod.Post, url, content, ct);
        if (conditional && r.StatusCode == HttpStatusCode.PreconditionFailed) return null;
        if (!r.IsSuccessStatusCode) throw await Failure(r, $"write of {name}");
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync(ct));
        return doc.RootElement.GetProperty("generation").ToString();
    }

    protected override async Task DeleteObjectAsync(string name, CancellationToken ct)
    {
        using var r = await SendAsync(HttpMethod.Delete, ObjectUrl(name), null, ct);
        if (!r.IsSuccessStatusCode && r.StatusCode != HttpStatusCode.NotFound) throw await Failure(r, $"delete of {name}");
    }

    protected override async IAsyncEnumerable<List<(string Name, string Tag, long Size)>> ListPagesAsync(string prefix, string? startAt,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            var url = $"{_api}/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o?prefix={Uri.EscapeDataString(prefix)}&maxResults=1000&fields=items(name,generation,size),nextPageToken";
            if (startAt is { Length: > 0 }) url += $"&startOffset={Uri.EscapeDataString(startAt)}";
            if (token is not null) url += $"&pageToken={Uri.EscapeDataString(token)}";
            using var r = await Limit(() => SendAsync(HttpMethod.Get, url, null, ct), ct);
            if (!r.IsSuccessStatusCode) throw await Failure(r, "listing");
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync(ct));
            var page = new List<(string, string, long)>();
            if (doc.RootElement.TryGetProperty("items", out var items))
                foreach (var item in items.EnumerateArray())
                    page.Add((item.GetProperty("name").GetString()!, item.GetProperty("generation").ToString(),
                        item.TryGetProperty("size", out var size) && long.TryParse(size.ToString(), out var n) ? n : 0));
            yield return page;
            token = doc.RootElement.TryGetProperty("nextPageToken", out var t) ? t.GetString() : null;
        } while (token is not null);
    }

    public override ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
