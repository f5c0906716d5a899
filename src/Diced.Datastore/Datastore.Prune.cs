using System.Text;
using Diced.Datastore.Versioning;
using Diced.Storage;
using Microsoft.Extensions.Logging;

namespace Diced.Datastore;

/// <summary>
/// Pruning the version DAG (dvid#80): a leaf node and everything only it wrote are deleted. Its change records name
/// every key it wrote, so the work is proportional to what the node changed. No other version descends from a leaf,
/// so nothing visible anywhere else changes.
/// </summary>
public sealed partial class Datastore
{
    private const string PendingNodeDeletePrefix = "delete-node/";

    /// <summary>Keys deleted per batch.</summary>
    private const int PruneBatchKeys = 10_000;

    /// <summary>
    /// Deletes leaf node <paramref name="v"/> (open or committed; not the root) and its data. The node leaves the DAG
    /// at once (after writes already admitted to it finish); its data is removed before this returns, and a removal
    /// cut short by a crash resumes at the next start. Returns how many type keys were removed.
    /// </summary>
    public async Task<long> DeleteNodeAsync(VersionRef v, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        if (!v.Repo.State.Nodes.TryGetValue(v.Node.VersionId, out var node)) throw DatastoreException.BadRequest($"{v.Uuid} was already deleted");
        if (node.Parents.Count == 0)
            throw DatastoreException.BadRequest($"{node.Uuid} is the root of its repo; delete the repo instead (DELETE /api/repo/{node.Uuid}?imsure=true)");
        if (node.Children.Count > 0)
            throw DatastoreException.BadRequest($"{node.Uuid} has {node.Children.Count} child version(s); only leaf versions can be deleted (delete its children first)");
        if (node.Archived) throw DatastoreException.BadRequest($"{node.Uuid} is archived; archived versions are kept");
        var pendingKey = DataKeys.Metadata($"{PendingNodeDeletePrefix}{node.VersionId:x8}");
        List<InstanceRecord> instances = [];
        await _versionRemovals.WaitAsync(ct);
        try
        {
            await CloseAllGatesAsync(node.VersionId);
            await UpdateRepoAsync(v.Repo, (s, mc) =>
            {
                if (!s.Nodes.TryGetValue(node.VersionId, out var current)) throw DatastoreException.BadRequest($"{node.Uuid} was already deleted");
                if (current.Children.Count > 0) throw DatastoreException.BadRequest($"{node.Uuid} has a child version now; only leaf versions can be deleted");
                if (current.Archived) throw DatastoreException.BadRequest($"{node.Uuid} is archived; archived versions are kept");
                instances = s.Instances.Values.Where(i => i.Versioned).ToList();
                mc.ExtraWrites = b => b.PutOwned(pendingKey, PendingNodeRecord(node.VersionId, instances));
                var nodes = s.Nodes.Remove(node.VersionId);
                foreach (var p in current.Parents)
                    nodes = nodes.SetItem(p, nodes[p] with { Children = nodes[p].Children.Remove(node.VersionId) });
                var line = TimeFormat.LogLine(DateTimeOffset.Now, $"Deleted version {node.Uuid} (\"{node.Note}\")");
                return (s with { Nodes = nodes, Log = s.Log.Add(line) }, true);
            }, ct);
        }
        catch
        {
            ReopenGatesIfKept(v.Repo, node.VersionId);
            throw;
        }
        finally { _versionRemovals.Release(); }
        lock (_indexLock) _uuidIndex = _uuidIndex.Remove(node.Uuid);
        // Other servers sharing the store stop admitting writes to the node within the fence window.
        if (_fence is not null) await Task.Delay(WriteFence.Window + WriteFence.Margin, CancellationToken.None);
        return await DeleteVersionDataAsync(node.VersionId, instances.Select(i => (i.InstanceId, i.Store)).ToList(), pendingKey, progress, ct);
    }

    /// <summary>
    /// Archives every version of <paramref name="branch"/> (empty or <c>master</c>: the master branch): open ones are
    /// committed (after writes already admitted finish), and all become read-only for good: no write reaches them, not
    /// even with <c>-fullwrite</c> or an admin's rights, and they cannot be deleted. They stay readable and can be
    /// branched from. Returns their UUIDs, root first.
    /// </summary>
    public async Task<IReadOnlyList<string>> ArchiveBranchAsync(Repo repo, string branch, CancellationToken ct = default)
    {
        if (branch == "master") branch = "";
        var members = repo.State.Nodes.Values.Where(n => n.Branch == branch).OrderBy(n => n.VersionId).ToList();
        if (members.Count == 0) throw DatastoreException.BadRequest($"repo {repo.Root} has no branch \"{branch}\"");
        IReadOnlyList<string> archived;
        await _versionRemovals.WaitAsync(ct);
        try
        {
            foreach (var n in members) await CloseAllGatesAsync(n.VersionId);
            archived = await ArchiveInRepoAsync(repo, branch, ct);
            // Nodes that joined the branch meanwhile were locked too: close their gates as well (writes admitted finish).
            foreach (var n in repo.State.Nodes.Values.Where(n => n.Branch == branch && n.Archived)) await CloseAllGatesAsync(n.VersionId);
        }
        catch
        {
            foreach (var n in members) ReopenGatesIfKept(repo, n.VersionId);
            throw;
        }
        finally { _versionRemovals.Release(); }
        if (_fence is not null) await Task.Delay(WriteFence.Window + WriteFence.Margin, CancellationToken.None);
        return archived;
    }

    /// <summary>After a deletion or archiving failed: the gates of <paramref name="version"/>, if it still exists and is
    /// not archived, admit again what its state allows (writes while open; privileged writes while locked).</summary>
    private void ReopenGatesIfKept(Repo repo, uint version)
    {
        if (!repo.State.Nodes.TryGetValue(version, out var now) || now.Archived) return;
        if (!now.Locked) GateOf(version).Reopen();
        PrivilegedGateOf(version).Reopen();
    }

    private Task<IReadOnlyList<string>> ArchiveInRepoAsync(Repo repo, string branch, CancellationToken ct)
        => UpdateRepoAsync(repo, (s, _) =>
        {
            var now = DateTimeOffset.Now;
            var nodes = s.Nodes;
            var uuids = new List<string>();
            foreach (var n in s.Nodes.Values.Where(n => n.Branch == branch).OrderBy(n => n.VersionId))
            {
                nodes = nodes.SetItem(n.VersionId, n with { Locked = true, Archived = true, Updated = now });
                uuids.Add(n.Uuid);
            }
            var line = TimeFormat.LogLine(now, $"Archived branch \"{(branch.Length == 0 ? "master" : branch)}\" ({uuids.Count} versions)");
            return (s with { Nodes = nodes, Log = s.Log.Add(line) }, (IReadOnlyList<string>)uuids);
        }, ct);

    private static byte[] PendingNodeRecord(uint version, IEnumerable<InstanceRecord> instances)
        => Encoding.UTF8.GetBytes(string.Join("\n", instances.Select(i => $"{i.InstanceId} {i.Store}").Prepend(version.ToString())));

    /// <summary>Removes every key <paramref name="version"/> wrote in each instance (values, tombstones, change records).</summary>
    private async Task<long> DeleteVersionDataAsync(uint version, IReadOnlyList<(uint Id, string? Store)> instances, byte[] pendingKey,
        IProgress<long>? progress, CancellationToken ct)
    {
        long removed = 0;
        foreach (var (id, storeName) in instances)
        {
            if (Stores.Find(storeName) is not { } store) continue;
            var prefix = DataKeys.ChangesAt(id, version);
            var batch = new WriteBatch();
            int inBatch = 0;
            await foreach (var record in store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), false, ct))
            {
                foreach (var tkey in ChangeRecords.Decode(record.Value))
                {
                    batch.Delete(DataKeys.Versioned(id, tkey, version, DataKeys.ValueMarker));
                    batch.Delete(DataKeys.Versioned(id, tkey, version, DataKeys.TombstoneMarker));
                    removed++;
                    if (++inBatch < PruneBatchKeys) continue;
                    await store.WriteAsync(batch, ct);
                    progress?.Report(removed);
                    (batch, inBatch) = (new WriteBatch(), 0);
                }
            }
            if (inBatch > 0) await store.WriteAsync(batch, ct);
            // The records go last: a crash before this point finds them again at the next start.
            await store.DeleteRangeAsync(prefix, KeyOrder.PrefixEnd(prefix), ct);
            progress?.Report(removed);
        }
        await _store.DeleteAsync(pendingKey, ct);
        _log.LogInformation("Deleted the data of version {Version}: {Keys} keys", version, removed);
        return removed;
    }

    /// <summary>Finishes node deletions a crash cut short.</summary>
    private async Task ResumeNodeDeletionsAsync(CancellationToken ct)
    {
        var prefix = DataKeys.Metadata(PendingNodeDeletePrefix);
        await foreach (var kv in _store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), false, ct))
        {
            var lines = Encoding.UTF8.GetString(kv.Value).Split('\n');
            var instances = lines.Skip(1).Select(l => l.Split(' ', 2)).Select(p => (uint.Parse(p[0]), p.Length > 1 && p[1].Length > 0 ? p[1] : null)).ToList();
            await DeleteVersionDataAsync(uint.Parse(lines[0]), instances, kv.Key, null, ct);
        }
    }
}
