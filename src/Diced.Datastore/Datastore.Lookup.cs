using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>Finding versions (UUIDs, prefixes, branch and ~N specs), instances (and pyramid levels) and data at a version.</summary>
public sealed partial class Datastore
{
    /// <summary>Whether any node on the server already uses <paramref name="uuid"/>.</summary>
    public bool UuidExists(string uuid) => _uuidIndex.ContainsKey(uuid);

    /// <summary>
    /// Resolves a version reference: a unique UUID prefix (server-wide), <c>prefix:branch</c>, <c>:branch</c>
    /// (single-repo servers) and <c>~N</c> suffixes for the Nth node back from a branch leaf.
    /// </summary>
    public VersionRef Resolve(string spec)
    {
        int colons = spec.Count(c => c == ':');
        if (colons > 1) throw DatastoreException.BadRequest($"bad UUID specification \"{spec}\"");
        if (colons == 0) return ResolvePrefix(spec);

        int colon = spec.IndexOf(':');
        string prefix = spec[..colon], branchSpec = spec[(colon + 1)..];
        int back = 0;
        int tilde = branchSpec.IndexOf('~');
        if (tilde >= 0)
        {
            if (!int.TryParse(branchSpec[(tilde + 1)..], out back) || back < 0)
                throw DatastoreException.BadRequest($"bad UUID specification \"{spec}\": ~N needs a non-negative integer");
            branchSpec = branchSpec[..tilde];
        }
        Repo repo;
        if (prefix.Length == 0)
        {
            var live = Repos.ToList();
            if (live.Count != 1) throw DatastoreException.BadRequest("UUID must be specified if more than one repo exists");
            repo = live[0];
        }
        else repo = ResolvePrefix(prefix).Repo;
        string branch = branchSpec == "master" ? "" : branchSpec;
        var node = BranchLeaf(repo.State, branch)
                   ?? throw DatastoreException.BadRequest($"branch \"{branchSpec}\" not found in repo \"{repo.Root}\"");
        for (int i = 0; i < back; i++)
        {
            if (node.Parents.Count == 0)
                throw DatastoreException.BadRequest($"branch \"{branchSpec}\" has fewer than {back} ancestors of its leaf");
            node = repo.State.Nodes[node.Parents[^1]];
        }
        return new VersionRef(repo, node);
    }

    private VersionRef ResolvePrefix(string prefix)
    {
        var index = _uuidIndex;
        if (index.TryGetValue(prefix, out var exact) && !exact.Repo.Deleted)
            return new VersionRef(exact.Repo, exact.Repo.State.Nodes[exact.Version]);
        (Repo Repo, uint Version)? found = null;
        if (prefix.Length > 0)
        {
            // Sorted keys: the matches are a contiguous run starting at the first key >= prefix.
            foreach (var (uuid, target) in index.SkipWhile(kv => string.CompareOrdinal(kv.Key, prefix) < 0))
            {
                if (!uuid.StartsWith(prefix, StringComparison.Ordinal)) break;
                if (target.Repo.Deleted) continue;
                if (found is not null) throw DatastoreException.BadRequest($"more than one UUID matches {prefix}");
                found = target;
            }
        }
        if (found is not { } f) throw DatastoreException.BadRequest($"could not find UUID with partial match to {prefix}");
        return new VersionRef(f.Repo, f.Repo.State.Nodes[f.Version]);
    }

    /// <summary>The newest node of <paramref name="branch"/> (empty = master), or null if no node is on it.</summary>
    public static NodeRecord? BranchLeaf(RepoRecord state, string branch)
    {
        NodeRecord? leaf = null;
        foreach (var n in state.Nodes.Values)
        {
            if (n.Branch != branch) continue;
            bool hasSameBranchChild = n.Children.Any(c => state.Nodes[c].Branch == branch);
            if (hasSameBranchChild) continue;
            if (leaf is not null)
                throw DatastoreException.BadRequest($"branch \"{branch}\" has more than 1 leaf: {leaf.Uuid}, {n.Uuid}");
            leaf = n;
        }
        return leaf;
    }

    /// <summary>Access to <paramref name="instance"/> at <paramref name="version"/>. With <paramref name="mayWriteLocked"/>
    /// (DVID's <c>-fullwrite</c> or admin privilege) a locked node accepts writes too.</summary>
    public VersionedData DataAt(VersionRef version, InstanceRecord instance, bool mayWriteLocked = false)
        => new(Stores.Of(instance), version.Repo, instance, version.Node,
            mayWriteLocked && version.Node.Locked && !IsArchived(version) ? PrivilegedGateOf(version.Node.VersionId) : GateOf(version.Node.VersionId), _fence);

    private static bool IsArchived(VersionRef v) => v.Repo.State.Nodes.TryGetValue(v.Node.VersionId, out var n) && n.Archived;

    /// <summary>The instance <paramref name="name"/>, or the virtual instance of an image pyramid level (<c>{name}_{k}</c>).</summary>
    public InstanceRecord GetInstanceOrLevel(VersionRef version, string name)
        => version.Repo.State.Instances.TryGetValue(name, out var inst) ? inst
            : Diced.Datastore.Types.ImageBlock.ImagePyramid.FindLevelInstance(name, version.Repo.State.Instances)
              ?? throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");

    /// <summary>Looks up an instance by name (names are repo-wide).</summary>
    public InstanceRecord GetInstance(VersionRef version, string name)
        => version.Repo.State.Instances.TryGetValue(name, out var inst)
            ? inst
            : throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");
}
