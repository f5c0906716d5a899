using System.Text.Json;

namespace Diced.Datastore.Types.Neuronjson;

/// <summary>
/// DVID's <c>show</c> and <c>fields</c> options: which members of a stored annotation an answer includes. Without
/// <c>fields</c>, every field and, with <c>show=user|time|all</c>, its <c>_user</c>/<c>_time</c>; with <c>fields=a,b</c>,
/// <c>bodyid</c>, the listed fields (a listed <c>x_user</c> even without <c>show</c>) and their shown metadata.
/// </summary>
public sealed class FieldSelection
{
    private readonly bool _user, _time;
    private readonly HashSet<string>? _fields;

    private FieldSelection(bool user, bool time, HashSet<string>? fields)
    {
        _user = user;
        _time = time;
        _fields = fields;
    }

    public static readonly FieldSelection Everything = new(true, true, null);

    public static FieldSelection Parse(string? show, string? fields)
    {
        bool user = show is "user" or "all", time = show is "time" or "all";
        return new FieldSelection(user, time, string.IsNullOrEmpty(fields) ? null : fields.Split(',').ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Whether <c>fields</c> names <c>bodyid</c> (then <c>all</c> lists bodies with nothing else).</summary>
    public bool NamesBodyId => _fields?.Contains("bodyid") == true;

    public static bool IsMeta(string name) => name.EndsWith("_user", StringComparison.Ordinal) || name.EndsWith("_time", StringComparison.Ordinal);

    public bool Includes(string name)
    {
        bool isUser = name.EndsWith("_user", StringComparison.Ordinal), isTime = name.EndsWith("_time", StringComparison.Ordinal);
        if (_fields is null) return (!isUser && !isTime) || (isUser && _user) || (isTime && _time);
        if (name == "bodyid" || _fields.Contains(name)) return true;
        return (isUser && _user || isTime && _time) && _fields.Contains(name[..^5]);
    }

    /// <summary>Writes the selected members of <paramref name="doc"/> (stored in key order, so the answer is too); returns how many.</summary>
    public int Write(Utf8JsonWriter w, JsonElement doc)
    {
        int n = 0;
        w.WriteStartObject();
        foreach (var p in doc.EnumerateObject())
        {
            if (!Includes(p.Name)) continue;
            p.WriteTo(w);
            n++;
        }
        w.WriteEndObject();
        return n;
    }

    /// <summary>How many members of <paramref name="doc"/> are selected.</summary>
    public int Count(JsonElement doc) => doc.EnumerateObject().Count(p => Includes(p.Name));
}
