using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Diced.Client;

/// <summary>HTTP calls to a DVID-compatible server, with DVID's error messages turned into <see cref="DicedException"/>.</summary>
internal sealed class DvidConnection(HttpClient http, Uri address) : IDisposable
{
    public Uri Address => address;

    public HttpClient Http => http;

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? body = null, bool allowNotFound = false, CancellationToken ct = default)
    {
        HttpResponseMessage r;
        try
        {
            r = await http.SendAsync(new HttpRequestMessage(method, new Uri(address, path)) { Content = body }, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new DicedException($"cannot reach the server at {address}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new DicedException($"the server at {address} did not answer {method} {path} in time", e);
        }
        if (r.IsSuccessStatusCode || (allowNotFound && r.StatusCode == HttpStatusCode.NotFound)) return r;
        var message = (await r.Content.ReadAsStringAsync(ct)).Trim();
        r.Dispose();
        throw new DicedException(message.Length > 0 ? message : $"{method} {path}: HTTP {(int)r.StatusCode}");
    }

    public async Task<byte[]> GetBytesAsync(string path, CancellationToken ct = default)
    {
        using var r = await SendAsync(HttpMethod.Get, path, ct: ct);
        return await ReadBodyAsync(r, path, ct);
    }

    public async Task<JsonDocument> GetJsonAsync(string path, CancellationToken ct = default)
    {
        using var r = await SendAsync(HttpMethod.Get, path, ct: ct);
        var body = await ReadBodyAsync(r, path, ct);
        try { return JsonDocument.Parse(body); }
        catch (JsonException e) { throw new DicedException($"{path}: the server's answer is not JSON: {e.Message}", e); }
    }

    private async Task<byte[]> ReadBodyAsync(HttpResponseMessage r, string path, CancellationToken ct)
    {
        try { return await r.Content.ReadAsByteArrayAsync(ct); }
        catch (HttpRequestException e) { throw new DicedException($"{path}: the connection to {address} broke while reading the answer: {e.Message}", e); }
    }

    public async Task<JsonDocument> PostJsonAsync(string path, object body, CancellationToken ct = default)
    {
        using var r = await SendAsync(HttpMethod.Post, path, Json(body), ct: ct);
        var bytes = await r.Content.ReadAsByteArrayAsync(ct);
        return JsonDocument.Parse(bytes.Length == 0 ? "{}"u8.ToArray() : bytes);
    }

    public async Task PostAsync(string path, byte[] body, CancellationToken ct = default)
    {
        using var r = await SendAsync(HttpMethod.Post, path, new ByteArrayContent(body), ct: ct);
    }

    public static HttpContent Json(object body)
    {
        var c = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        c.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return c;
    }

    public void Dispose() => http.Dispose();
}
