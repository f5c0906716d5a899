using Microsoft.Extensions.Logging;
using System.Collections.Immutable;
using System.Text.Json;
using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore;

public sealed partial class Datastore
{
    /// <summary>
    /// DVID's version sequence: <paramref name="to"/> and its first parents, newest first, up to and including
    /// <paramref name="from"/> (or the root, when <paramref name="from"/> is not on that path).
    /// </summary>
    public static List<NodeRecord> FirstParentChain(RepoRecord state, uint to, uint? from = null)
    {
        var chain = new List<NodeRecord>();
        for (var node = state.Nodes[to]; ; node = state.Nodes[node.Parents[0]])
        {
            chain.Add(node);
            if (node.VersionId == from || node.Parents.Count == 0) return chain;
        }
    }

    /// <summary>Creates a repo with one open root node on the master branch.</summary>
    public async Task<Repo> CreateRepoAsync(string alias, string description, string? rootUuid = null, string? passcode = null, CancellationToken ct = default)
    {
        var root = rootUuid ?? Uuids.New();
        if (root.Length == 0 || root.Length > 64 || !root.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw DatastoreException.BadRequest($"invalid root UUID \"{root}\"");
        if (_uuidIndex.ContainsKey(root)) throw DatastoreException.BadRequest("UUID already exists in datastore");
        uint vid = await AllocateIdAsync(isVersion: true, ct);
        await _metaLock.WaitAsync(ct);
        try
        {
            if (_uuidIndex.ContainsKey(root)) throw DatastoreException.BadRequest("UUID already exists in datastore");
            var now = DateTimeOffset.Now;
            var node = new NodeRecord { Uuid = root, VersionId = vid, Created = now, Updated = now };
            var props = ImmutableSortedDictionary<string, string>.Empty;
            if (!string.IsNullOrEmpty(passcode)) props = props.Add("passcode", passcode);
            var state = new RepoRecord
            {
                Root = root, Alias = alias, Description = description, Created = now, Updated = now,
                Nodes = ImmutableSortedDictionary<uint, NodeRecord>.Empty.Add(vid, node),
                Properties = props, Revision = 1,
            };
            // Conditional on absence: two servers choosing the same root cannot both succeed.
            var tag = await _store.PutIfAsync(DataKeys.Metadata(RepoDocPrefix + root), JsonSerializer.SerializeToUtf8Bytes(state, DocJson), null, ct)
                      ?? throw DatastoreException.BadRequest("UUID already exists in datastore");
            var repo = new Repo(state, tag);
            _repos[root] = repo;
            IndexNodes(repo, state);
            return repo;
        }
        finally
        {
            _metaLock.Release();
        }
    }

    /// <summary>Locks a node forever, after every write admitted before the commit has finished.</summary>
    public async Task<string> CommitAsync(VersionRef v, string? note, IReadOnlyList<string>? log, CancellationToken ct = default)
    {
        var gate = GateOf(v.Node.VersionId);
        await gate.CloseAsync().WaitAsync(ct);
        string uuid;
        try
        {
            uuid = await UpdateRepoAsync(v.Repo, (s, _) =>
            {
                var node = s.Nodes[v.Node.VersionId];
                if (node.Locked) throw DatastoreException.BadRequest($"Cannot do post on locked node {node.Uuid}");
                var now = DateTimeOffset.Now;
                node = node with
                {
                    Locked = true,
                    Note = string.IsNullOrEmpty(note) ? node.Note : note,
                    Log = node.Log.AddRange((log ?? []).Select(l => TimeFormat.LogLine(now, l))),
                    Updated = now,
                };
                return (s with { Nodes = s.Nodes.SetItem(node.VersionId, node) }, node.Uuid);
            }, ct);
        }
        catch
        {
            if (!v.Repo.State.Nodes[v.Node.VersionId].Locked) gate.Reopen();
            throw;
        }
        // Other servers sharing the store stop admitting writes to this node within the fence window.
        if (_fence is not null) await Task.Delay(WriteFence.Window + WriteFence.Margin, CancellationToken.None);
        return uuid;
    }

    /// <summary>Creates an open child of a locked node on the parent's branch.</summary>
    public Task<string> NewVersionAsync(VersionRef v, string? note, string? uuid, CancellationToken ct = default)
        => AddChildAsync(v, branch: null, note, uuid, ct);

    /// <summary>
    /// Creates an open child on a new branch. An empty name (DICED sends only a note) makes an ordinary child on
    /// the parent's branch, or, when that child already exists, a child on a new branch named by its UUID.
    /// </summary>
    public Task<string> BranchAsync(VersionRef v, string? branch, string? note, string? uuid, CancellationToken ct = default)
    {
        if (branch == "master") throw DatastoreException.BadRequest("Cannot create a master branch");
        return AddChildAsync(v, branch ?? "", note, uuid, ct);
    }

    private Task<string> AddChildAsync(VersionRef v, string? branch, string? note, string? uuid, CancellationToken ct)
    {
        if (uuid is not null && !Uuids.IsValid(uuid))
            throw DatastoreException.BadRequest("Bad UUID provided: UUID must be 32 character hexadecimal string");
        return UpdateRepoAsync(v.Repo, (s, mc) =>
        {
            var parent = s.Nodes[v.Node.VersionId];
            if (!parent.Locked) throw DatastoreException.BadRequest("can't branch an unlocked node");
            var childUuid = uuid?.ToLowerInvariant() ?? Uuids.New();
            if (_uuidIndex.ContainsKey(childUuid)) throw DatastoreException.BadRequest($"UUID {childUuid} already exists in datastore");
            bool sameBranchChildExists = parent.Children.Any(c => s.Nodes[c].Branch == parent.Branch);
            string childBranch;
            if (branch is { Length: 0 })
                childBranch = sameBranchChildExists ? childUuid : parent.Branch;
            else if (branch is null || branch == parent.Branch)
            {
                if (sameBranchChildExists) throw DatastoreException.BadRequest("branch already exists with given name");
                childBranch = parent.Branch;
            }
            else
            {
                if (s.Nodes.Values.Any(n => n.Branch == branch)) throw DatastoreException.BadRequest("branch already exists with given name");
                childBranch = branch;
            }
            return AddChild(s, mc, [parent], childUuid, childBranch, note ?? "", locked: false);
        }, ct, needsVersionId: true);
    }

    private static (RepoRecord, string) AddChild(RepoRecord s, MetaChange mc, IReadOnlyList<NodeRecord> parents, string uuid, string branch, string note, bool locked)
        => AddChild(s, mc.NextVersionId(), parents, uuid, branch, note, locked);

    private static (RepoRecord, string) AddChild(RepoRecord s, uint vid, IReadOnlyList<NodeRecord> parents, string uuid, string branch, string note, bool locked)
    {
        var now = DateTimeOffset.Now;
        var child = new NodeRecord
        {
            Uuid = uuid, VersionId = vid, Branch = branch, Note = note, Locked = locked,
            Parents = parents.Select(p => p.VersionId).ToImmutableList(), Created = now, Updated = now,
        };
        var nodes = s.Nodes.Add(vid, child);
        foreach (var p in parents)
            nodes = nodes.SetItem(p.VersionId, nodes[p.VersionId] with { Children = nodes[p.VersionId].Children.Add(vid), Updated = now });
        return (s with { Nodes = nodes }, uuid);
    }

    /// <summary>Creates a locked child whose UUID is the tag string, on branch <c>tag-&lt;tag&gt;</c>.</summary>
    public async Task<string> TagAsync(VersionRef v, string tag, string? note, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(tag) || tag.Contains(':') || tag.Contains('/'))
            throw DatastoreException.BadRequest("tag must be a non-empty string without ':' or '/'");
        var uuid = await UpdateRepoAsync(v.Repo, (s, mc) =>
        {
            var parent = s.Nodes[v.Node.VersionId];
            if (!parent.Locked) throw DatastoreException.BadRequest("can't branch an unlocked node");
            if (_uuidIndex.ContainsKey(tag)) throw DatastoreException.BadRequest($"UUID {tag} already exists in datastore");
            return AddChild(s, mc, [parent], tag, "tag-" + tag, string.IsNullOrEmpty(note) ? $"Tag of version {parent.Uuid} with \"{tag}\"" : note, locked: true);
        }, ct, needsVersionId: true);
        CloseGate(Resolve(uuid).Node.VersionId);
        return uuid;
    }

    public Task SetNoteAsync(VersionRef v, string note, CancellationToken ct = default)
        => UpdateNodeAsync(v, n => n with { Note = note }, ct);

    public Task AppendNodeLogAsync(VersionRef v, IReadOnlyList<string> lines, CancellationToken ct = default)
    {
        var now = DateTimeOffset.Now;
        return UpdateNodeAsync(v, n => n with { Log = n.Log.AddRange(lines.Select(l => TimeFormat.LogLine(now, l))) }, ct);
    }

    private Task UpdateNodeAsync(VersionRef v, Func<NodeRecord, NodeRecord> change, CancellationToken ct)
        => UpdateRepoAsync(v.Repo, (s, _) =>
        {
            var node = s.Nodes[v.Node.VersionId];
            if (node.Locked) throw DatastoreException.BadRequest($"Cannot do post on locked node {node.Uuid}");
            node = change(node) with { Updated = DateTimeOffset.Now };
            return (s with { Nodes = s.Nodes.SetItem(node.VersionId, node) }, true);
        }, ct);

    public Task AppendRepoLogAsync(Repo repo, IReadOnlyList<string> lines, CancellationToken ct = default)
    {
        var now = DateTimeOffset.Now;
        return UpdateRepoAsync(repo, (s, _) => (s with { Log = s.Log.AddRange(lines.Select(l => TimeFormat.LogLine(now, l))) }, true), ct);
    }

    public Task SetRepoInfoAsync(Repo repo, string? alias, string? description, CancellationToken ct = default)
        => UpdateRepoAsync(repo, (s, _) => (s with { Alias = alias ?? s.Alias, Description = description ?? s.Description }, true), ct);

    /// <summary>UUIDs from the leaf of <paramref name="branch"/> back to the root (empty when the branch is unknown).</summary>
    public static IReadOnlyList<string> BranchVersions(RepoRecord s, string branch)
    {
        var leaf = BranchLeaf(s, branch == "master" ? "" : branch);
        var result = new List<string>();
        if (leaf is null) return result;
        var node = leaf;
        while (true)
        {
            result.Add(node.Uuid);
            if (node.Parents.Count == 0) break;
            foreach (var extra in node.Parents.Take(node.Parents.Count - 1)) result.Add(s.Nodes[extra].Uuid);
            node = s.Nodes[node.Parents[^1]];
        }
        return result;
    }

    /// <summary>Deletes a repo: it disappears at once; its data is removed in the background.</summary>
    public async Task DeleteRepoAsync(Repo repo, CancellationToken ct = default)
    {
        await _metaLock.WaitAsync(ct);
        try
        {
            if (repo.Deleted) throw DatastoreException.BadRequest($"repo {repo.Root} has been deleted");
            var state = repo.State;
            var batch = new WriteBatch();
            batch.Delete(DataKeys.Metadata(RepoDocPrefix + state.Root));
            var pendingKeys = new List<(uint, string?, byte[])>();
            foreach (var inst in state.Instances.Values)
            {
                var key = PendingDeleteKey(inst.InstanceId);
                batch.PutOwned(key, PendingDeleteRecord(inst));
                pendingKeys.Add((inst.InstanceId, inst.Store, key));
            }
            await _store.WriteAsync(batch, ct);
            repo.Deleted = true;
            _repos.TryRemove(state.Root, out _);
            UnindexRepo(state);
            foreach (var (id, store, key) in pendingKeys) ScheduleDataDeletion(id, store, key);
        }
        finally
        {
            _metaLock.Release();
        }
    }

    private static byte[] PendingDeleteKey(uint instanceId) => DataKeys.Metadata($"{PendingDeletePrefix}{instanceId:x8}");

    /// <summary>A pending deletion: the instance id, then the name of the store holding its data (none: the main store).</summary>
    private static byte[] PendingDeleteRecord(InstanceRecord inst)
        => [.. BitConverter.GetBytes(inst.InstanceId), .. System.Text.Encoding.UTF8.GetBytes(inst.Store ?? "")];

    private void ScheduleDataDeletion(uint instanceId, string? storeName, byte[] pendingKey)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                if (Stores.Find(storeName) is not { } store)
                {
                    _log.LogWarning("The data of deleted instance {InstanceId} is in store {Store}, which is not configured; left in place", instanceId, storeName);
                    return;
                }
                var prefix = DataKeys.InstancePrefix(instanceId);
                await store.DeleteRangeAsync(prefix, KeyOrder.PrefixEnd(prefix));
                var changes = DataKeys.ChangesOf(instanceId);
                await store.DeleteRangeAsync(changes, KeyOrder.PrefixEnd(changes));
                await _store.DeleteAsync(pendingKey);
                _log.LogInformation("Deleted the data of instance {InstanceId}", instanceId);
            }
            catch (Exception e)
            {
                _log.LogError(e, "Deleting the data of instance {InstanceId} failed; it resumes at next start", instanceId);
            }
        });
        lock (_background)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(task);
        }
    }
}
