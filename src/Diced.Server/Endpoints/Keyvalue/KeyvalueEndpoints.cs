using System.Buffers;
using System.Formats.Tar;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Diced.Datastore.Types.KeyValue;
using Diced.Server.Http;
using Diced.Server.Json;
using Diced.Server.Wire;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Keyvalue;

/// <summary>The <c>keyvalue</c> type's routes (§11): single keys, key listings, ranges and batches.</summary>
public static class KeyvalueEndpoints
{
    public static void MapKeyvalueEndpoints(this IEndpointRouteBuilder app)
    {
        var kv = app.MapDataType("keyvalue");
        kv.MapTags();
        kv.MapMethods("key/{key}", ["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH"], Key);
        kv.MapMethods("key", ["GET", "HEAD", "POST", "DELETE"], MissingSegment("key endpoint requires a key: …/key/<key>"));
        kv.MapMethods("keys", DvidRouting.GetAndHead, Keys);
        kv.MapMethods("keys/{**ignored}", DvidRouting.GetAndHead, Keys);
        kv.MapMethods("keyrange/{first}/{last}/{**ignored}", DvidRouting.GetAndHead, KeyRange);
        kv.MapMethods("keyrange/{**partial}", DvidRouting.GetAndHead, MissingSegment("keyrange requires two keys: …/keyrange/<key1>/<key2>"));
        kv.MapMethods("keyrangevalues/{first}/{last}/{**ignored}", DvidRouting.GetAndHead, KeyRangeValues);
        kv.MapMethods("keyrangevalues/{**partial}", DvidRouting.GetAndHead, MissingSegment("keyrangevalues requires two keys: …/keyrangevalues/<key1>/<key2>"));
        kv.MapMethods("keyvalues", DvidRouting.GetAndHead, GetKeyValues);
        kv.MapPost("keyvalues", PostKeyValues);
        kv.MapMethods("mutations", DvidRouting.GetAndHead, async (HttpContext http)
            => await DvidJson.WriteValueAsync(http, await Data(http).MutationsAsync(http.RequestAborted)));
        kv.MapMethods("mutations-range/{from}/{to}", DvidRouting.GetAndHead, MutationsRange);
    }

    /// <summary><c>mutations-range/&lt;from&gt;/&lt;to&gt;</c>: the log of the versions from <c>to</c> back to <c>from</c>, newest first.</summary>
    private static async Task MutationsRange(HttpContext http, string from, string to)
    {
        var ctx = http.Instance();
        var (start, end) = (ctx.Store.Resolve(from), ctx.Store.Resolve(to));
        if (start.Repo != ctx.Version.Repo || end.Repo != ctx.Version.Repo) throw Reject.BadRequest("mutations-range needs two versions of this repo");
        var atEnd = new KeyValueData(ctx.Store.DataAt(end, ctx.Instance));
        await DvidJson.WriteValueAsync(http, await atEnd.MutationsSinceAsync(start.Node.VersionId, http.RequestAborted));
    }

    private static RequestDelegate MissingSegment(string message) => _ => throw Reject.BadRequest(message);

    private static KeyValueData Data(HttpContext http) => new(http.Instance().Data, Auth.Caller.UserOf(http));

    /// <summary>The key of <c>…/key/{key}</c> exactly as sent (<c>%2F</c> is a '/', <c>%25</c> a '%').</summary>
    private static string KeySegment(HttpContext http, int index) => RawPath.Segment(http, index, "key");

    private static async Task Key(HttpContext http, IOptions<DicedOptions> o)
    {
        var key = KeySegment(http, 5);
        var data = Data(http);
        var ct = http.RequestAborted;
        switch (http.Request.Method)
        {
            case "GET":
                if (await MeshFallbackAsync(http, key, data)) break;
                await GetKey(http, data, key);
                break;
            case "HEAD":
                http.Response.Headers.AcceptRanges = "bytes";
                if (!await data.ExistsAsync(key, ct) && !await MeshFallbackAsync(http, key, data)) http.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
            case "POST":
                await data.PutAsync(key, await RequestBody.ReadAsync(http, o.Value.MaxValueBytes), ct);
                break;
            case "DELETE":
                await data.DeleteAsync(key, ct);
                break;
            default:
                throw Reject.BadRequest($"key endpoint does not support \"{http.Request.Method.ToLowerInvariant()}\" HTTP verb");
        }
    }

    /// <summary>In a <c>{labels}_meshes</c> instance, a body's mesh that was never uploaded is built (see <c>Datastore.Meshes</c>).</summary>
    private static async Task<bool> MeshFallbackAsync(HttpContext http, string key, KeyValueData data)
    {
        var ctx = http.Instance();
        if (!ctx.Store.GeneratedMeshes || Datastore.Datastore.MeshSourceOf(ctx.Version.Repo.State, ctx.Instance.Name) is not { } labels) return false;
        if (await data.ExistsAsync(key, http.RequestAborted)) return false;
        return await Meshes.GeneratedMeshEndpoints.TryServeAsync(http, ctx.Version, labels, key);
    }

    private static async Task GetKey(HttpContext http, KeyValueData data, string key)
    {
        ByteRange.ParseQuery(http); // reject malformed ranges before reading
        using var value = await data.GetPooledAsync(key, http.RequestAborted) ?? throw Reject.NotFound($"Key \"{key}\" not found");
        http.Response.Headers.AcceptRanges = "bytes";
        http.Response.ContentType = "application/octet-stream";
        ByteRange? range;
        try
        {
            range = ByteRange.Select(http, value.Length);
        }
        catch (UnsatisfiableRangeException e)
        {
            http.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            http.Response.Headers.ContentRange = $"bytes */{e.Length}";
            return;
        }
        var body = value.Memory;
        if (range is { } r)
        {
            if (r.FromHeader)
            {
                http.Response.StatusCode = StatusCodes.Status206PartialContent;
                http.Response.Headers.ContentRange = $"bytes {r.Start}-{r.End}/{value.Length}";
            }
            body = body.Slice((int)r.Start, (int)r.Length);
        }
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, http.RequestAborted);
    }

    private static Task Keys(HttpContext http) => WriteKeys(http, Data(http).KeysAsync(ct: http.RequestAborted));

    private static Task KeyRange(HttpContext http)
        => WriteKeys(http, Data(http).KeysAsync(KeySegment(http, 5), KeySegment(http, 6), http.RequestAborted));

    private static async Task WriteKeys(HttpContext http, IAsyncEnumerable<string> keys)
    {
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.BodyWriter, DvidJson.WriterOptions);
        w.WriteStartArray();
        await foreach (var k in keys)
        {
            w.WriteStringValue(k);
            if (w.BytesPending > 32 * 1024) await w.FlushAsync(http.RequestAborted);
        }
        w.WriteEndArray();
        await w.FlushAsync(http.RequestAborted);
    }

    /// <summary>Output format chosen by <c>json</c>/<c>tar</c>/<c>jsontar</c> (protobuf by default).</summary>
    private static async Task KeyRangeValues(HttpContext http)
    {
        string first = KeySegment(http, 5), last = KeySegment(http, 6);
        var format = KeyValueBatches.FormatOf(http);
        bool check = http.Request.Query["check"] == "true";
        var data = Data(http);
        var pairs = data.RangeAsync(first, last, http.RequestAborted);
        if (format == KeyValueBatches.Format.Json && check)
        {
            // Validate every value before the 200 goes out, so bad JSON is a clean 400.
            var list = new List<(string, byte[])>();
            await foreach (var p in pairs)
            {
                RequireJson(p.Key, p.Value);
                list.Add(p);
            }
            pairs = list.ToAsyncEnumerable();
        }
        await KeyValueBatches.WritePairsAsync(http, format, pairs);
    }

    private static async Task GetKeyValues(HttpContext http, IOptions<DicedOptions> o)
    {
        var format = KeyValueBatches.FormatOf(http);
        bool check = http.Request.Query["check"] == "true";
        var body = await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes);
        var requests = format == KeyValueBatches.Format.Protobuf ? KeyValueMessages.ReadKeys(body) : ParseJsonKeys(body);
        var data = Data(http);
        var results = new List<(string, byte[])>(requests.Count);
        foreach (var req in requests)
        {
            var value = await data.GetAsync(req.Key, http.RequestAborted) ?? [];
            if (req.ByteStart is { } a && req.ByteEnd is { } b && value.Length > 0)
            {
                if (a > b || b >= value.Length)
                    throw Reject.BadRequest($"byte range {a}-{b} of key \"{req.Key}\" is outside its {value.Length} bytes");
                value = value.AsSpan((int)a, (int)(b - a + 1)).ToArray();
                if (format == KeyValueBatches.Format.Json) RequireJson(req.Key, value);
            }
            else if (format == KeyValueBatches.Format.Json && check) RequireJson(req.Key, value);
            results.Add((req.Key, value));
        }
        await KeyValueBatches.WritePairsAsync(http, format, results.ToAsyncEnumerable());
    }

    private static List<KeyValueMessages.KeyRequest> ParseJsonKeys(byte[] body)
    {
        using var doc = JsonBody.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Reject.BadRequest("expected a JSON array of keys");
        var list = new List<KeyValueMessages.KeyRequest>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String)
            {
                list.Add(new(e.GetString()!, null, null));
                continue;
            }
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("key", out var k) || k.ValueKind != JsonValueKind.String)
                throw Reject.BadRequest("each requested key must be a string or an object with a string 'key'");
            bool hasStart = e.TryGetProperty("byte_start", out var s), hasEnd = e.TryGetProperty("byte_end", out var en);
            if (hasStart != hasEnd) throw Reject.BadRequest($"key \"{k.GetString()}\": byte_start and byte_end must both be given");
            if (hasStart && (!s.TryGetInt64(out var sv) || !en.TryGetInt64(out var ev) || sv < 0 || ev < 0))
                throw Reject.BadRequest($"key \"{k.GetString()}\": byte_start and byte_end must be non-negative integers");
            list.Add(new(k.GetString()!, hasStart ? s.GetInt64() : null, hasStart ? en.GetInt64() : null));
        }
        return list;
    }

    private static void RequireJson(string key, byte[] value)
    {
        if (value.Length == 0) return;
        try
        {
            var reader = new Utf8JsonReader(value);
            while (reader.Read()) { }
        }
        catch (JsonException)
        {
            throw Reject.BadRequest($"value of key \"{key}\" is not valid JSON");
        }
    }

    private static async Task PostKeyValues(HttpContext http, IOptions<DicedOptions> o)
    {
        var body = await RequestBody.ReadAsync(http, o.Value.MaxValueBytes);
        var pairs = KeyValueMessages.ReadKeyValues(body);
        await Data(http).PutManyAsync(pairs, http.RequestAborted);
    }

}
