using System.Text.Json.Nodes;

namespace Diced.Datastore.Types.Neuronjson;

/// <summary>
/// How a POSTed annotation combines with the stored one, as DVID's <c>updateJSON</c> does: fields merge into the
/// stored object (or replace it, <c>replace=true</c>); a <c>null</c> deletes a field and records who deleted it and
/// when; each field whose value changes gets <c>{field}_user</c> (the requester) and <c>{field}_time</c> (now) unless
/// those were posted; unchanged fields keep theirs; <c>conditional</c> fields keep a value that already exists.
/// </summary>
public static class NeuronjsonMerge
{
    private static bool NoMetadata(string name) => name is "bodyid" or "user";

    /// <summary>The new stored object, its members in ordinal key order.</summary>
    public static JsonObject Apply(JsonObject? stored, JsonObject posted, string user, string now, bool replace, IReadOnlySet<string> conditional)
    {
        var orig = stored is null ? new JsonObject() : (JsonObject)stored.DeepClone();
        var next = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        var postedMeta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in posted)
            if (FieldSelection.IsMeta(k)) postedMeta[k] = v is JsonValue s && s.TryGetValue<string>(out var text) ? text : "";

        var deleted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in posted)
        {
            if (v is not null) { next[k] = v.DeepClone(); continue; }
            deleted.Add(k);
            orig.Remove(k);
        }
        foreach (var k in deleted.Where(k => !FieldSelection.IsMeta(k)))
        {
            // A deleted field keeps a record of who deleted it and when.
            var who = postedMeta.TryGetValue(k + "_user", out var u) ? u : user;
            var when = postedMeta.TryGetValue(k + "_time", out var t) ? t : now;
            orig.Remove(k + "_user");
            orig.Remove(k + "_time");
            if (who.Length > 0) next[k + "_user"] = who;
            else next.Remove(k + "_user");
            if (when.Length > 0) next[k + "_time"] = when;
            else next.Remove(k + "_time");
        }

        bool Changed(string k) => stored is null || !orig.ContainsKey(k) || !JsonNode.DeepEquals(orig[k], posted[k]);
        var changed = posted.Where(p => p.Value is not null && !FieldSelection.IsMeta(p.Key) && !NoMetadata(p.Key) && Changed(p.Key)).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);

        if (!replace)
        {
            foreach (var (k, v) in orig)
                if (!posted.ContainsKey(k) && !next.ContainsKey(k)) next[k] = v?.DeepClone();
            foreach (var k in conditional)
            {
                if (!posted.ContainsKey(k) || posted[k] is null || !orig.ContainsKey(k)) continue;
                next[k] = orig[k]?.DeepClone(); // an existing value wins, with its metadata
                CopyOrRemove(orig, next, k + "_user");
                CopyOrRemove(orig, next, k + "_time");
                changed.Remove(k);
            }
        }
        foreach (var (k, v) in posted)
        {
            if (v is null || FieldSelection.IsMeta(k) || NoMetadata(k)) continue;
            if (changed.Contains(k))
            {
                if (!postedMeta.ContainsKey(k + "_user")) next[k + "_user"] = user;
                if (!postedMeta.ContainsKey(k + "_time")) next[k + "_time"] = now;
            }
            else if (replace)
            {
                // Unchanged in a replacement: its metadata survive.
                if (!postedMeta.ContainsKey(k + "_user")) next[k + "_user"] = orig[k + "_user"]?.DeepClone() ?? user;
                if (!postedMeta.ContainsKey(k + "_time")) next[k + "_time"] = orig[k + "_time"]?.DeepClone() ?? now;
            }
        }
        var result = new JsonObject();
        foreach (var (k, v) in next) result[k] = v;
        return result;
    }

    private static void CopyOrRemove(JsonObject from, SortedDictionary<string, JsonNode?> to, string key)
    {
        if (from.TryGetPropertyValue(key, out var v)) to[key] = v?.DeepClone();
        else to.Remove(key);
    }
}
