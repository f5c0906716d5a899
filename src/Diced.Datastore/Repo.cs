using System.Collections.Concurrent;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>A live repo: the current persisted state plus caches derived from it.</summary>
public sealed class Repo
{
    private volatile RepoRecord _state;
    private readonly ConcurrentDictionary<uint, Ancestry> _ancestry = new();

    internal Repo(RepoRecord state, string? tag)
    {
        _state = state;
        Tag = tag;
    }

    /// <summary>Version tag of the stored document this state was read from or written as (for conditional writes).</summary>
    internal string? Tag { get; set; }

    /// <summary>The current immutable snapshot; replaced atomically by every metadata change.</summary>
    public RepoRecord State { get => _state; internal set => _state = value; }

    public string Root => _state.Root;

    public uint RootVersion => _state.RootNode.VersionId;

    /// <summary>Set once the repo is deleted; requests holding the object then fail.</summary>
    public bool Deleted { get; internal set; }

    /// <summary>Records the ancestry of a version not yet in the DAG (a merge child whose data is written before it is
    /// published), so reads and writes at it work before anyone can see it.</summary>
    internal void PrimeAncestry(uint version, IReadOnlyList<uint> parents)
        => _ancestry.TryAdd(version, Ancestry.Build(version, parents.Select(AncestryOf).ToList()));

    /// <summary>The ancestry of <paramref name="version"/>, computed on first use.</summary>
    public Ancestry AncestryOf(uint version)
    {
        if (_ancestry.TryGetValue(version, out var a)) return a;
        // Iterative to survive very deep chains: build ancestors first, from the root down.
        var state = _state;
        var stack = new Stack<uint>();
        stack.Push(version);
        while (stack.Count > 0)
        {
            var v = stack.Peek();
            if (_ancestry.ContainsKey(v)) { stack.Pop(); continue; }
            var node = state.Nodes[v];
            bool ready = true;
            foreach (var p in node.Parents)
            {
                if (!_ancestry.ContainsKey(p)) { stack.Push(p); ready = false; }
            }
            if (!ready) continue;
            stack.Pop();
            var parents = node.Parents.Select(p => _ancestry[p]).ToList();
            _ancestry.TryAdd(v, Ancestry.Build(v, parents));
        }
        return _ancestry[version];
    }

    public NodeRecord Node(uint version) => _state.Nodes[version];

    public override string ToString() => $"repo {Root}";
}
