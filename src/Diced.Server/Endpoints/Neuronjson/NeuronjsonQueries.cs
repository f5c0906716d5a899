using System.Buffers;
using System.Text.Json;
using Diced.Datastore.Types.Neuronjson;
using Diced.Server.Endpoints.Keyvalue;
using Diced.Server.Http;
using Diced.Server.Wire;
using Microsoft.Extensions.Options;
using static Diced.Server.Endpoints.Neuronjson.NeuronjsonEndpoints;

namespace Diced.Server.Endpoints.Neuronjson;

/// <summary>The neuronjson reads: all, keys, fields, fieldtimes, keyrange, keyrangevalues, keyvalues, query.</summary>
internal static class NeuronjsonQueries
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public static void Map(RouteGroupBuilder g)
    {
        g.MapMethods("all", DvidRouting.GetAndHead, All);
        g.MapMethods("keys", DvidRouting.GetAndHead, async (HttpContext http) =>
        {
            var keys = new List<string>();
            await foreach (var (body, _) in Of(http).RangeAsync(ct: http.RequestAborted)) keys.Add(body.ToString());
            await WriteAsync(http, w => JsonSerializer.Serialize(w, keys));
        });
        g.MapMethods("fields", DvidRouting.GetAndHead, async (HttpContext http) =>
        {
            var counts = await Of(http).FieldCountsAsync(http.RequestAborted);
            if (http.Request.Query["counts"] == "true") await WriteAsync(http, w => JsonSerializer.Serialize(w, counts));
            else await WriteAsync(http, w => JsonSerializer.Serialize(w, counts.Keys));
        });
        g.MapMethods("fieldtimes", DvidRouting.GetAndHead, async (HttpContext http) =>
        {
            var times = await Of(http).FieldTimesAsync(http.RequestAborted);
            await WriteAsync(http, w => JsonSerializer.Serialize(w, times));
        });
        g.MapMethods("keyrange/{first}/{last}", DvidRouting.GetAndHead, async (HttpContext http, string first, string last) =>
        {
            var keys = new List<string>();
            await foreach (var (body, _) in Of(http).RangeAsync(NeuronAnnotations.ParseRangeKey(first), NeuronAnnotations.ParseRangeKey(last), http.RequestAborted))
                keys.Add(body.ToString());
            await WriteAsync(http, w => JsonSerializer.Serialize(w, keys));
        });
        g.MapMethods("keyrangevalues/{first}/{last}", DvidRouting.GetAndHead, async (HttpContext http, string first, string last) =>
        {
            var format = KeyValueBatches.FormatOf(http);
            var selection = Selection(http);
            var range = Of(http).RangeAsync(NeuronAnnotations.ParseRangeKey(first), NeuronAnnotations.ParseRangeKey(last), http.RequestAborted);
            await KeyValueBatches.WritePairsAsync(http, format, Selected(range, selection));
        });
        g.MapMethods("keyvalues", DvidRouting.GetAndHead, GetKeyValues);
        g.MapMethods("query", ["GET", "HEAD", "POST"], Query).AllowOnLockedNode();
    }

    /// <summary>Writes one JSON value with Go's escaping (none beyond JSON's).</summary>
    public static async Task WriteAsync(HttpContext http, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Options)) write(w);
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(http.Request.Method)) await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    private static async IAsyncEnumerable<(string Key, byte[] Value)> Selected(IAsyncEnumerable<(ulong Body, byte[] Json)> docs, FieldSelection selection)
    {
        await foreach (var (body, json) in docs) yield return (body.ToString(), Project(json, selection));
    }

    private static byte[] Project(byte[] json, FieldSelection selection)
    {
        using var doc = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var w = new Utf8JsonWriter(buffer, Options)) selection.Write(w, doc.RootElement);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Streams a JSON array, flushing every few hundred KiB.</summary>
    private static async Task StreamArrayAsync<T>(HttpContext http, IAsyncEnumerable<T> items, Func<Utf8JsonWriter, T, bool> write)
    {
        http.Response.ContentType = "application/json";
        var body = http.Response.BodyWriter;
        await using var w = new Utf8JsonWriter(body, Options);
        w.WriteStartArray();
        await foreach (var item in items)
        {
            write(w, item);
            if (w.BytesPending >= 256 << 10) { w.Flush(); await body.FlushAsync(http.RequestAborted); }
        }
        w.WriteEndArray();
        w.Flush();
        await body.FlushAsync(http.RequestAborted);
    }

    /// <summary><c>all</c>: every annotation as selected; one with nothing selected beyond its bodyid is left out unless <c>fields</c> names bodyid.</summary>
    private static Task All(HttpContext http)
    {
        var selection = Selection(http);
        return StreamArrayAsync(http, Of(http).RangeAsync(ct: http.RequestAborted), (w, item) =>
        {
            using var doc = JsonDocument.Parse(item.Json);
            if (selection.Count(doc.RootElement) <= 1 && !selection.NamesBodyId) return false;
            selection.Write(w, doc.RootElement);
            return true;
        });
    }

    private static async Task Query(HttpContext http, IOptions<DicedOptions> o)
    {
        var query = NeuronQuery.Parse(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var selection = Selection(http);
        bool onlyId = http.Request.Query["onlyid"] == "true";
        await StreamArrayAsync(http, Of(http).QueryAsync(query, http.RequestAborted), (w, item) =>
        {
            if (onlyId) w.WriteNumberValue(item.Body);
            else selection.Write(w, item.Doc);
            return true;
        });
    }

    /// <summary><c>keyvalues</c> GET: keys in the body (protobuf Keys; with <c>json=true</c> a JSON array of ids or strings).
    /// JSON leaves out keys without an annotation; tar and protobuf give them empty values, as DVID.</summary>
    private static async Task GetKeyValues(HttpContext http, IOptions<DicedOptions> o)
    {
        var format = KeyValueBatches.FormatOf(http);
        var raw = await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes);
        var keys = format == KeyValueBatches.Format.Protobuf ? KeyValueMessages.ReadKeys(raw).Select(k => k.Key).ToList() : JsonKeys(raw);
        var a = Of(http);
        var selection = Selection(http);
        var pairs = new List<(string, byte[])>(keys.Count);
        foreach (var key in keys)
        {
            var json = await a.GetAsync(NeuronAnnotations.ParseKey(key), http.RequestAborted);
            if (json is null && format == KeyValueBatches.Format.Json) continue;
            pairs.Add((key, json is null ? [] : Project(json, selection)));
        }
        await KeyValueBatches.WritePairsAsync(http, format, pairs.ToAsyncEnumerable());
    }

    private static List<string> JsonKeys(byte[] raw)
    {
        using var doc = JsonBody.Parse(raw);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) throw Reject.BadRequest("expected a JSON array of body ids");
        return doc.RootElement.EnumerateArray().Select(e => e.ValueKind switch
        {
            JsonValueKind.Number when e.TryGetUInt64(out var id) => id.ToString(),
            JsonValueKind.String => e.GetString()!,
            _ => throw Reject.BadRequest($"expected a JSON array of body ids, got {e.GetRawText()}"),
        }).ToList();
    }
}
