using Diced.Codecs.Annotations;
using Diced.Datastore.Types.Labelsz;

namespace Diced.Datastore.Types.Annotation;

/// <summary>
/// Changes to an annotation's label and tag indices made by one transaction, gathered so that each index record is read
/// and written once, with the element deltas that the synced labelsz instances count.
/// </summary>
internal sealed class IndexChanges
{
    public Dictionary<ulong, (Dictionary<ElementPos, IndexEntry> Add, HashSet<ElementPos> Remove)> Labels { get; } = new();
    public Dictionary<string, (Dictionary<ElementPos, IndexEntry> Add, HashSet<ElementPos> Remove)> Tags { get; } = new(StringComparer.Ordinal);
    public List<ElementDelta> Deltas { get; } = [];

    public bool IsEmpty => Labels.Count == 0 && Tags.Count == 0;

    /// <summary>The element at <paramref name="entry"/>'s position joins body <paramref name="body"/> (0: none).</summary>
    public void AddToLabel(ulong body, IndexEntry entry)
    {
        if (body == 0) return;
        var (add, remove) = Of(Labels, body);
        remove.Remove(entry.Pos);
        add[entry.Pos] = entry;
        Deltas.Add(new ElementDelta(body, entry.Kind, entry.Pos, +1));
    }

    /// <summary>The element <paramref name="entry"/> leaves body <paramref name="body"/> (0: none).</summary>
    public void RemoveFromLabel(ulong body, IndexEntry entry)
    {
        if (body == 0) return;
        var (add, remove) = Of(Labels, body);
        add.Remove(entry.Pos);
        remove.Add(entry.Pos);
        Deltas.Add(new ElementDelta(body, entry.Kind, entry.Pos, -1));
    }

    public void AddToTag(string tag, ElementPos pos)
    {
        var (add, remove) = Of(Tags, tag);
        remove.Remove(pos);
        add[pos] = new IndexEntry(pos, ElementKind.Unknown, 0);
    }

    public void RemoveFromTag(string tag, ElementPos pos)
    {
        var (add, remove) = Of(Tags, tag);
        add.Remove(pos);
        remove.Add(pos);
    }

    /// <summary>An element leaves the indices: its body's (of its supervoxel) and its tags'.</summary>
    public void Unindex(Element e, ulong sv, Func<ulong, ulong> bodyOf)
    {
        RemoveFromLabel(bodyOf(sv), new IndexEntry(e.Pos, e.Kind, sv));
        foreach (var t in e.Tags) RemoveFromTag(t, e.Pos);
    }

    /// <summary>An element joins the indices: its body's (of its supervoxel) and its tags'.</summary>
    public void Index(Element e, ulong sv, Func<ulong, ulong> bodyOf)
    {
        AddToLabel(bodyOf(sv), new IndexEntry(e.Pos, e.Kind, sv));
        foreach (var t in e.Tags) AddToTag(t, e.Pos);
    }

    private static (Dictionary<ElementPos, IndexEntry> Add, HashSet<ElementPos> Remove) Of<TKey>(
        Dictionary<TKey, (Dictionary<ElementPos, IndexEntry> Add, HashSet<ElementPos> Remove)> map, TKey key) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var v)) map[key] = v = (new Dictionary<ElementPos, IndexEntry>(), new HashSet<ElementPos>());
        return v;
    }
}
