namespace Diced.Datastore.Versioning;

/// <summary>
/// The ancestors of one version, each with its distance (0 = the version itself). Parents never change once a
/// node exists, so an ancestry is computed once and cached; it lets a versioned read pick the nearest
/// writer among a key's stored versions in one dictionary lookup each, however deep the DAG.
/// </summary>
public sealed class Ancestry
{
    private readonly Dictionary<uint, int> _distance;

    public Ancestry(uint version, Dictionary<uint, int> distance, bool hasMerge)
    {
        Version = version;
        _distance = distance;
        HasMerge = hasMerge;
    }

    public uint Version { get; }

    /// <summary>True when some ancestor (or the version itself) has more than one parent.</summary>
    public bool HasMerge { get; }

    public int Count => _distance.Count;

    /// <summary>Distance from this version up to <paramref name="ancestor"/>, or -1 when it is not an ancestor.</summary>
    public int DistanceTo(uint ancestor) => _distance.TryGetValue(ancestor, out var d) ? d : -1;

    public bool Contains(uint version) => _distance.ContainsKey(version);

    /// <summary>This version and all its ancestors.</summary>
    public IEnumerable<uint> Versions => _distance.Keys;

    /// <summary>Computes the ancestry of <paramref name="version"/> from its parents' ancestries.</summary>
    public static Ancestry Build(uint version, IReadOnlyList<Ancestry> parents)
    {
        var d = new Dictionary<uint, int>(parents.Count == 0 ? 1 : parents[0].Count + 1) { [version] = 0 };
        bool merge = parents.Count > 1;
        foreach (var p in parents)
        {
            merge |= p.HasMerge;
            foreach (var (v, dist) in p._distance)
            {
                if (!d.TryGetValue(v, out var existing) || dist + 1 < existing) d[v] = dist + 1;
            }
        }
        return new Ancestry(version, d, merge);
    }
}
