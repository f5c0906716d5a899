using System.Text.Json;
using System.Text.RegularExpressions;

namespace Diced.Datastore.Types.Neuronjson;

/// <summary>
/// DVID's neuronjson query: a JSON object ANDs its fields, a list of objects ORs them. A field's value matches when any
/// query value equals any stored value (a stored list matches when it holds one of them): numbers by value, strings
/// exactly, <c>"re/…"</c> a regular expression found anywhere in the string (as DVID's Go regexp match, so anchor
/// with <c>^…$</c>), <c>"exists/0"</c> a missing or null field, <c>"exists/1"</c> a present one. Malformed queries,
/// unsupported values (objects, null) and regular expressions that do not compile are refused.
/// </summary>
public sealed class NeuronQuery
{
    private abstract record Value;
    private sealed record Number(decimal V) : Value;
    private sealed record Text(string V) : Value;
    private sealed record Pattern(Regex V) : Value;
    private sealed record Flag(bool V) : Value;

    private sealed record Condition(string Field, bool? Exists, List<Value> AnyOf);

    private readonly List<List<Condition>> _clauses;

    private NeuronQuery(List<List<Condition>> clauses) => _clauses = clauses;

    /// <summary>When every clause only names <c>bodyid</c> by number: the bodies asked for, ascending (no scan needed).</summary>
    public IReadOnlyList<ulong>? BodyIds { get; private init; }

    public static NeuronQuery Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray()); }
        catch (JsonException) { throw DatastoreException.BadRequest($"unable to parse JSON query: {System.Text.Encoding.UTF8.GetString(json)}"); }
        using (doc)
        {
            var root = doc.RootElement;
            var objects = root.ValueKind switch
            {
                JsonValueKind.Object => [root],
                JsonValueKind.Array when root.GetArrayLength() == 0 => throw DatastoreException.BadRequest("no query provided"),
                JsonValueKind.Array when root.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object) => root.EnumerateArray().ToList(),
                _ => throw DatastoreException.BadRequest($"unable to parse JSON query: {root.GetRawText()}"),
            };
            var clauses = objects.Select(o => o.EnumerateObject().Select(p => ParseCondition(p.Name, p.Value)).ToList()).ToList();
            List<ulong>? ids = null;
            if (clauses.All(c => c.Count == 1 && c[0].Field == "bodyid" && c[0].Exists is null && c[0].AnyOf.All(v => v is Number n && n.V >= 0 && n.V <= ulong.MaxValue && n.V == decimal.Truncate(n.V))))
                ids = clauses.SelectMany(c => c[0].AnyOf).Select(v => (ulong)((Number)v).V).Distinct().Order().ToList();
            return new NeuronQuery(clauses) { BodyIds = ids };
        }
    }

    private static Condition ParseCondition(string field, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: 8 } s && s.StartsWith("exists/", StringComparison.Ordinal))
            return new Condition(field, s[7] != '0', []);
        var values = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(v => ParseValue(field, v)).ToList() : [ParseValue(field, value)];
        return new Condition(field, null, values);
    }

    private static Value ParseValue(string field, JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => v.TryGetDecimal(out var d) ? new Number(d) : throw DatastoreException.BadRequest($"query value {v.GetRawText()} for \"{field}\" is out of range"),
        JsonValueKind.String when v.GetString()! is var s && s.StartsWith("re/", StringComparison.Ordinal) => new Pattern(Compile(field, s[3..])),
        JsonValueKind.String => new Text(v.GetString()!),
        JsonValueKind.True or JsonValueKind.False => new Flag(v.GetBoolean()),
        _ => throw DatastoreException.BadRequest(
            $"unsupported query value {v.GetRawText()} for \"{field}\": use numbers, strings, \"re/<regex>\", \"exists/0\", \"exists/1\" or a list of them"),
    };

    private static Regex Compile(string field, string pattern)
    {
        try { return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw DatastoreException.BadRequest($"invalid regular expression \"{pattern}\" for \"{field}\": {e.Message}"); }
    }

    /// <summary>Whether a stored annotation matches.</summary>
    public bool Matches(JsonElement doc) => _clauses.Any(clause => clause.All(c => Holds(c, doc)));

    private static bool Holds(Condition c, JsonElement doc)
    {
        bool present = doc.TryGetProperty(c.Field, out var stored) && stored.ValueKind != JsonValueKind.Null;
        if (c.Exists is { } exists) return exists == present;
        if (!present) return false;
        if (stored.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in stored.EnumerateArray())
                if (AnyEquals(c.AnyOf, e)) return true;
            return false;
        }
        return AnyEquals(c.AnyOf, stored);
    }

    private static bool AnyEquals(List<Value> values, JsonElement stored)
    {
        foreach (var v in values)
        {
            switch (v)
            {
                case Number n when stored.ValueKind == JsonValueKind.Number && stored.TryGetDecimal(out var d) && d == n.V: return true;
                case Text t when stored.ValueKind == JsonValueKind.String && stored.ValueEquals(t.V): return true;
                case Pattern p when stored.ValueKind == JsonValueKind.String && p.V.IsMatch(stored.GetString()!): return true;
                case Flag f when stored.ValueKind is JsonValueKind.True or JsonValueKind.False && stored.GetBoolean() == f.V: return true;
            }
        }
        return false;
    }
}
