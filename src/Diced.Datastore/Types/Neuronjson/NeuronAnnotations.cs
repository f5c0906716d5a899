using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Neuronjson;

/// <summary>
/// A neuronjson instance at one version: an annotation object per body id (stored as JSON with sorted keys, keyed by
/// the id so scans ascend numerically), the schema documents, and a log of changes.
/// </summary>
public sealed partial class NeuronAnnotations(VersionedData data)
{
    private const byte DocClass = 179, SchemaClass = 180, SchemaBatchClass = 181, JsonSchemaClass = 182; // DVID's classes
    private const byte LogClass = 0xF1;

    /// <summary>The schema documents, by the name of their route.</summary>
    public static readonly IReadOnlyDictionary<string, byte> SchemaKinds = new Dictionary<string, byte>
    {
        ["schema"] = SchemaClass, ["schema_batch"] = SchemaBatchClass, ["json_schema"] = JsonSchemaClass,
    };

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Key(ulong body)
    {
        var k = new byte[9];
        k[0] = DocClass;
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(1), body);
        return k;
    }

    private static ulong BodyOf(byte[] tkey) => BinaryPrimitives.ReadUInt64BigEndian(tkey.AsSpan(1));

    /// <summary>A body id of a URL (<c>key/&lt;key&gt;</c>); DVID answers Go's parse error.</summary>
    public static ulong ParseKey(string text) => GoStrconv.ParseUint(text);

    /// <summary>DVID's range bounds: a key starting above '9' is the largest id, below '0' the smallest.</summary>
    public static ulong ParseRangeKey(string text)
    {
        if (text.Length == 0) throw DatastoreException.BadRequest("key string is empty");
        if (text[0] > '9') return ulong.MaxValue;
        if (text[0] < '0') return 0;
        return ParseKey(text);
    }

    /// <summary>The stored annotation of <paramref name="body"/> (JSON, keys sorted), or null.</summary>
    public async Task<byte[]?> GetAsync(ulong body, CancellationToken ct = default) => await data.GetAsync(Key(body), ct);

    public async Task<bool> ExistsAsync(ulong body, CancellationToken ct = default) => await data.ExistsAsync(Key(body), ct);

    /// <summary>Stored annotations with <paramref name="first"/> ≤ body ≤ <paramref name="last"/>, ascending.</summary>
    public async IAsyncEnumerable<(ulong Body, byte[] Json)> RangeAsync(ulong first = 0, ulong last = ulong.MaxValue, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (first > last) yield break;
        byte[] end = last == ulong.MaxValue ? [DocClass + 1] : Key(last + 1);
        await foreach (var (tk, v) in data.ScanAsync(Key(first), end, false, ct))
            yield return (BodyOf(tk), v);
    }

    /// <summary>The annotations matching <paramref name="query"/>, ascending by body id.</summary>
    public async IAsyncEnumerable<(ulong Body, JsonElement Doc)> QueryAsync(NeuronQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (query.BodyIds is { } ids)
        {
            foreach (var id in ids)
                if (await GetAsync(id, ct) is { } json)
                {
                    using var found = JsonDocument.Parse(json);
                    yield return (id, found.RootElement.Clone());
                }
            yield break;
        }
        await foreach (var (body, json) in RangeAsync(ct: ct))
        {
            using var doc = JsonDocument.Parse(json);
            if (query.Matches(doc.RootElement)) yield return (body, doc.RootElement.Clone());
        }
    }

    /// <summary>Every member name of every annotation (metadata included) with how many annotations have it.</summary>
    public async Task<SortedDictionary<string, long>> FieldCountsAsync(CancellationToken ct = default)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await foreach (var (_, json) in RangeAsync(ct: ct))
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var p in doc.RootElement.EnumerateObject()) counts[p.Name] = counts.GetValueOrDefault(p.Name) + 1;
        }
        return counts;
    }

    /// <summary>For each field, the latest of its <c>_time</c> values (RFC 3339 compared as instants).</summary>
    public async Task<SortedDictionary<string, string>> FieldTimesAsync(CancellationToken ct = default)
    {
        var latest = new SortedDictionary<string, (DateTimeOffset At, string Text)>(StringComparer.Ordinal);
        await foreach (var (_, json) in RangeAsync(ct: ct))
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!p.Name.EndsWith("_time", StringComparison.Ordinal) || p.Value.ValueKind != JsonValueKind.String) continue;
                if (!DateTimeOffset.TryParse(p.Value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)) continue;
                var field = p.Name[..^5];
                if (!latest.TryGetValue(field, out var seen) || at > seen.At) latest[field] = (at, p.Value.GetString()!);
            }
        }
        return new SortedDictionary<string, string>(latest.ToDictionary(kv => kv.Key, kv => kv.Value.Text), StringComparer.Ordinal);
    }

    public async Task<byte[]?> GetSchemaAsync(string kind, CancellationToken ct = default) => await data.GetAsync([SchemaKinds[kind]], ct);

    /// <summary>Stores a schema document; a <c>json_schema</c> must compile (it then validates every annotation POSTed here).</summary>
    public Task PutSchemaAsync(string kind, byte[] document, CancellationToken ct = default)
    {
        if (kind == "json_schema") CompileSchema(document);
        return data.WriteAsync(tx => { tx.Put([SchemaKinds[kind]], document); return Task.FromResult(0); }, ct);
    }

    public Task DeleteSchemaAsync(string kind, CancellationToken ct = default)
        => data.WriteAsync(tx => { tx.Delete([SchemaKinds[kind]]); return Task.FromResult(0); }, ct);

    private static Json.Schema.JsonSchema CompileSchema(byte[] document)
    {
        try { return Json.Schema.JsonSchema.FromText(System.Text.Encoding.UTF8.GetString(document)); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException or Json.Schema.JsonSchemaException)
        {
            throw DatastoreException.BadRequest($"json_schema does not compile: {e.Message}");
        }
    }

    /// <summary>The JSON of an object as stored and answered: keys in ordinal order (as Go writes maps), no escaping beyond JSON's.</summary>
    public static byte[] Serialize(JsonObject obj) => JsonSerializer.SerializeToUtf8Bytes(obj, Relaxed);

    /// <summary>Writes a change to the log (DVID's Kafka record) in its transaction.</summary>
    private void Log(Transaction tx, string action, ulong body, string user, int? bytes)
    {
        var record = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["Action"] = action, ["Key"] = body.ToString(CultureInfo.InvariantCulture), ["Timestamp"] = TimeFormat.GoTime(DateTimeOffset.UtcNow),
            ["UUID"] = data.Node.Uuid, ["User"] = user,
        };
        if (bytes is { } n) record["Bytes"] = n;
        tx.Put(MutationLog.TimeOrderedKey(LogClass), JsonSerializer.SerializeToUtf8Bytes(record));
    }

    public Task<List<JsonElement>> MutationsAsync(CancellationToken ct = default) => MutationLog.ReadAsync(data, LogClass, ct);
}
