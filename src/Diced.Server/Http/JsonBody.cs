using System.Text.Json;

namespace Diced.Server.Http;

/// <summary>Parses DVID's JSON request bodies, with DVID's error messages.</summary>
public static class JsonBody
{
    /// <summary>
    /// A configuration map (§2.6): keys lower-cased, every value a JSON string (<c>versioned</c> may also be a boolean).
    /// An empty body is an empty map.
    /// </summary>
    public static Dictionary<string, string> ParseConfig(byte[] body)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        if (IsBlank(body)) return config;
        using var doc = Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Reject.BadRequest("Malformed JSON request in body: expected a JSON object of string settings");
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var key = p.Name.ToLowerInvariant();
            config[key] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.True or JsonValueKind.False when key == "versioned" => p.Value.GetBoolean() ? "true" : "false",
                _ => throw Reject.BadRequest($"Setting for '{p.Name}' was not a string: {p.Value.GetRawText()}"),
            };
        }
        return config;
    }

    /// <summary>Parses a JSON document, mapping syntax errors to DVID's message.</summary>
    public static JsonDocument Parse(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw Reject.BadRequest($"Malformed JSON request in body: {(IsBlank(body) ? "unexpected end of JSON input" : e.Message)}");
        }
    }

    /// <summary>Parses an optional JSON object body (empty body = empty object).</summary>
    public static JsonObjectBody ParseObject(byte[] body, bool allowEmpty = true)
    {
        if (IsBlank(body))
        {
            if (!allowEmpty) throw Reject.BadRequest("Malformed JSON request in body: unexpected end of JSON input");
            return new JsonObjectBody(null);
        }
        var doc = Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Reject.BadRequest("Malformed JSON request in body: expected a JSON object");
        return new JsonObjectBody(doc);
    }

    public static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }
}

/// <summary>A JSON object body with case-insensitive typed member access (Go's struct decoding rules).</summary>
public sealed class JsonObjectBody(JsonDocument? doc) : IDisposable
{
    private JsonElement? Find(string name)
    {
        if (doc is null) return null;
        foreach (var p in doc.RootElement.EnumerateObject())
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        return null;
    }

    public bool Has(string name) => Find(name) is { ValueKind: not JsonValueKind.Null };

    public string? String(string name)
    {
        var e = Find(name);
        if (e is null || e.Value.ValueKind == JsonValueKind.Null) return null;
        if (e.Value.ValueKind != JsonValueKind.String)
            throw Reject.BadRequest($"Malformed JSON request in body: '{name}' must be a string");
        return e.Value.GetString();
    }

    /// <summary>A member's JSON text as written (numbers as their digits, strings without quotes), or null.</summary>
    public string? Raw(string name)
    {
        var e = Find(name);
        if (e is null || e.Value.ValueKind == JsonValueKind.Null) return null;
        return e.Value.ValueKind == JsonValueKind.String ? e.Value.GetString() : e.Value.GetRawText();
    }

    public IReadOnlyList<string>? StringArray(string name)
    {
        var e = Find(name);
        if (e is null || e.Value.ValueKind == JsonValueKind.Null) return null;
        if (e.Value.ValueKind != JsonValueKind.Array || e.Value.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            throw Reject.BadRequest($"Malformed JSON request in body: '{name}' must be an array of strings");
        return e.Value.EnumerateArray().Select(x => x.GetString()!).ToList();
    }

    public void Dispose() => doc?.Dispose();
}
