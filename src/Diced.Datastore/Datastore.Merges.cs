using System.Collections.Immutable;
using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore;

/// <summary>
/// Merging versions: DVID's conflict-free merge, checked at merge time rather than at a later read, and its
/// priority resolve. What each parent changed since the parents' common ancestors comes from the change records, so
/// the work grows with the changes, not with the data.
/// </summary>
public sealed partial class Datastore
{
    /// <summary>What one instance's parents changed since their common ancestors: per parent, the type keys.</summary>
    private sealed record InstanceChanges(InstanceRecord Instance, IReadOnlyList<HashSet<byte[]>> ByParent);

    /// <summary>
    /// DVID's <c>POST /api/repo/{uuid}/merge</c>: an open child of committed <paramref name="parentUuids"/>. Refused with
    /// <see cref="MergeConflictException"/> when two parents changed the same key differently since their common
    /// ancestors; records several parents changed that the type can combine (extents, max label) are combined in the child.
    /// </summary>
    public async Task<string> MergeAsync(Repo repo, IReadOnlyList<string> parentUuids, string note, CancellationToken ct = default)
    {
        var parents = ResolveParents(repo, parentUuids);
        var changes = await ChangesSinceCommonAsync(repo, parents, repo.State.Instances.Values, ct);
        var plan = await PlanAsync(repo, parents, changes, priority: false, ct);
        if (plan.Conflicts.Count > 0) throw new MergeConflictException(plan.Conflicts);
        return await CreateMergeChildAsync(repo, parents, note, plan.Writes, ct);
    }

    /// <summary>
    /// DVID's <c>POST /api/repo/{uuid}/resolve</c>: like <see cref="MergeAsync"/>, but keys of <paramref name="instances"/>
    /// that parents changed differently take the value of the first parent in <paramref name="parentUuids"/> that changed
    /// them. Conflicts left in instances not named still refuse the merge.
    /// </summary>
    public async Task<string> ResolveAsync(Repo repo, IReadOnlyList<string> instances, IReadOnlyList<string> parentUuids, string note, CancellationToken ct = default)
    {
        if (instances.Count == 0) throw DatastoreException.BadRequest("Must specify at least one data instance using 'data' field");
        foreach (var name in instances)
            if (!repo.State.Instances.ContainsKey(name)) throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");
        var parents = ResolveParents(repo, parentUuids);
        var changes = await ChangesSinceCommonAsync(repo, parents, repo.State.Instances.Values, ct);
        // labelsz counts are derived from their annotation's records: resolving the annotation resolves them too.
        var names = instances.Concat(repo.State.Instances.Values.Where(i => i.TypeName == "labelsz" && i.Syncs.Any(instances.Contains)).Select(i => i.Name)).ToHashSet();
        var named = changes.Where(c => names.Contains(c.Instance.Name)).ToList();
        var others = await PlanAsync(repo, parents, changes.Except(named).ToList(), priority: false, ct);
        if (others.Conflicts.Count > 0) throw new MergeConflictException(others.Conflicts);
        // Instances whose conflicts priority settles: their derived records (label indices and pyramids, annotation
        // label and tag records, labelsz counts) are made to agree with what the child took, after the winners are written.
        var resolved = await PlanAsync(repo, parents, named, priority: true, ct);
        var conflicted = resolved.Conflicts.Select(c => c.Instance).ToHashSet();
        var labels = named.Where(c => conflicted.Contains(c.Instance.Name) && Types.Get(c.Instance.TypeName) is Types.Labels.LabelType).ToList();
        var labelsTaken = named.Where(c => conflicted.Contains(c.Instance.Name) && LabelTypes.Contains(c.Instance.TypeName)).Select(c => c.Instance.Name).ToHashSet();
        // Annotations to settle: those whose records or labelsz counts priority took, and those following labels it took
        // (their elements' supervoxels and bodies follow the child's voxels and mapping), named or not.
        var settled = changes.Where(c => c.Instance.TypeName == "annotation").Select(c => (Annotation: c, Sizes: changes
            .Where(s => s.Instance.TypeName == "labelsz" && s.Instance.Syncs.Contains(c.Instance.Name)).ToList()))
            .Where(a => conflicted.Contains(a.Annotation.Instance.Name) || a.Sizes.Any(s => conflicted.Contains(s.Instance.Name))
                || a.Annotation.Instance.Syncs.Any(s => labelsTaken.Contains(FollowedLabels(repo.State, s))))
            .ToList();
        return await CreateMergeChildAsync(repo, parents, note, [.. others.Writes, .. resolved.Writes], ct, async child =>
        {
            foreach (var c in labels)
                await RecountResolvedLabelsAsync(repo, child, parents, c, resolved.Writes.Where(w => w.Instance.Name == c.Instance.Name).Select(w => w.TKey).ToList(), ct);
            foreach (var (annotation, sizes) in settled)
                await SettleResolvedAnnotationsAsync(repo, child, parents, annotation, sizes, ct);
        });
    }

    /// <summary>The label instance whose voxels a sync to <paramref name="name"/> follows (a labelvol's labelblk, else itself).</summary>
    private static string FollowedLabels(RepoRecord state, string name)
        => state.Instances.TryGetValue(name, out var inst) && inst.TypeName == "labelvol" && SyncedLabelblk(state, inst) is { } blk ? blk : name;

    private List<NodeRecord> ResolveParents(Repo repo, IReadOnlyList<string> parentUuids)
    {
        if (parentUuids.Count < 2) throw DatastoreException.BadRequest("Must specify at least two parent UUIDs using 'parents' field");
        var parents = new List<NodeRecord>();
        foreach (var p in parentUuids)
        {
            VersionRef v;
            try { v = Resolve(p); }
            catch (DatastoreException e) { throw DatastoreException.BadRequest($"can't match parent \"{p}\": {e.Message}"); }
            if (v.Repo != repo) throw DatastoreException.BadRequest($"parent {v.Uuid} is in another repo");
            if (!v.Node.Locked) throw DatastoreException.BadRequest($"parent {v.Uuid} is not committed; only committed versions can be merged");
            if (parents.Any(x => x.VersionId == v.Node.VersionId)) throw DatastoreException.BadRequest($"parent {v.Uuid} is named twice");
            parents.Add(v.Node);
        }
        var ancestries = parents.Select(p => repo.AncestryOf(p.VersionId)).ToList();
        for (int i = 0; i < parents.Count; i++)
            for (int j = 0; j < parents.Count; j++)
                if (i != j && ancestries[i].Contains(parents[j].VersionId))
                    throw DatastoreException.BadRequest($"parent {parents[j].Uuid} is an ancestor of parent {parents[i].Uuid}; merge versions on different branches");
        return parents;
    }

    /// <summary>For each versioned instance, the keys each parent changed in the versions only it descends from.</summary>
    private async Task<List<InstanceChanges>> ChangesSinceCommonAsync(Repo repo, IReadOnlyList<NodeRecord> parents, IEnumerable<InstanceRecord> instances, CancellationToken ct)
    {
        var ancestries = parents.Select(p => repo.AncestryOf(p.VersionId)).ToList();
        var common = ancestries.Skip(1).Aggregate(ancestries[0].Versions.ToHashSet(), (set, a) => { set.IntersectWith(a.Versions); return set; });
        var own = ancestries.Select(a => a.Versions.Where(v => !common.Contains(v)).ToList()).ToList();
        var result = new List<InstanceChanges>();
        foreach (var inst in instances.Where(i => i.Versioned && Stores.Has(i)).OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var byParent = new List<HashSet<byte[]>>();
            foreach (var versions in own) byParent.Add(await ChangedKeysAsync(inst, versions, ct));
            result.Add(new InstanceChanges(inst, byParent));
        }
        return result;
    }

    private sealed record MergePlan(List<MergeConflict> Conflicts, List<(InstanceRecord Instance, byte[] TKey, byte[]? Value)> Writes);

    /// <summary>
    /// Keys changed by more than one parent: equal values need nothing; values the type combines are written to the
    /// child; others are conflicts, and with <paramref name="priority"/> also take the first changing parent's value. A key
    /// changed by one parent is that parent's in the child: reads there find it by itself unless another parent sees
    /// an entry that is no ancestor of the changer's (possible below earlier merges), and then it is written to the child.
    /// </summary>
    private async Task<MergePlan> PlanAsync(Repo repo, IReadOnlyList<NodeRecord> parents, IReadOnlyList<InstanceChanges> changes, bool priority, CancellationToken ct)
    {
        var plan = new MergePlan([], []);
        foreach (var (inst, byParent) in changes)
        {
            var type = Types.Get(inst.TypeName);
            var at = parents.Select(p => DataAt(new VersionRef(repo, p), inst)).ToList();
            var keys = new HashSet<byte[]>(ByteArrayEquality.Instance);
            foreach (var set in byParent) keys.UnionWith(set);
            var conflicting = new List<string>();
            foreach (var tkey in keys.Order(KeyOrder.Comparer))
            {
                var changers = Enumerable.Range(0, parents.Count).Where(i => byParent[i].Contains(tkey)).ToList();
                // The version whose entry each parent sees, read once per key for both questions below.
                var writers = new uint?[parents.Count];
                for (int i = 0; i < parents.Count; i++) writers[i] = await at[i].WriterVersionAsync(tkey, ct);
                if (changers.Count > 1) changers = LatestChangers(repo, writers, changers);
                if (changers.Count == 1)
                {
                    if (Shadowed(repo, writers, changers[0])) plan.Writes.Add((inst, tkey, await at[changers[0]].GetAsync(tkey, ct)));
                    continue;
                }
                var values = new List<byte[]?>();
                foreach (var i in changers) values.Add(await at[i].GetAsync(tkey, ct));
                if (values.All(v => SameValue(v, values[0]))) continue;
                if (type.MergeValues(tkey, values) is { } merged) plan.Writes.Add((inst, tkey, merged));
                else
                {
                    if (priority) plan.Writes.Add((inst, tkey, values[0]));
                    conflicting.Add(type.DescribeKey(tkey));
                }
            }
            if (conflicting.Count > 0) plan.Conflicts.Add(new MergeConflict(inst.Name, inst.TypeName, conflicting));
        }
        return plan;
    }

    /// <summary>
    /// The changers whose visible entry no other changer has built on: with three or more parents, a version two of
    /// them share is a change of both, and one may have written the key again since; the older entry is no rival.
    /// </summary>
    private static List<int> LatestChangers(Repo repo, uint?[] writers, List<int> changers)
        => changers.Where(i => !changers.Any(j => j != i && writers[i] is { } wi && writers[j] is { } wj && wi != wj && repo.AncestryOf(wj).Contains(wi))).ToList();

    /// <summary>Whether some other parent sees an entry (<paramref name="writers"/>: the version each parent's entry
    /// comes from) that is not an ancestor of the one parent <paramref name="changer"/> sees, so the merged child would
    /// not find the changer's by itself.</summary>
    private static bool Shadowed(Repo repo, uint?[] writers, int changer)
    {
        var mine = writers[changer];
        for (int j = 0; j < writers.Length; j++)
        {
            if (j == changer || writers[j] is not { } theirs) continue;
            if (mine is null || (theirs != mine && !repo.AncestryOf(mine.Value).Contains(theirs))) return true;
        }
        return false;
    }

    private static bool SameValue(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    /// <summary>
    /// Makes the open child of <paramref name="parents"/> with what the merge decided already in it: the child's version
    /// id is reserved and its data written (one commit per instance, then <paramref name="settle"/>) before the node is
    /// published, so no client reads, writes or commits it half-merged. A crash before publishing leaves only keys of
    /// a version no node names.
    /// </summary>
    private async Task<string> CreateMergeChildAsync(Repo repo, IReadOnlyList<NodeRecord> parents, string note,
        IReadOnlyList<(InstanceRecord Instance, byte[] TKey, byte[]? Value)> writes, CancellationToken ct, Func<VersionRef, Task>? settle = null)
    {
        uint vid = await AllocateIdAsync(isVersion: true, ct);
        var uuid = Uuids.New();
        var now = DateTimeOffset.Now;
        var pending = new NodeRecord
        {
            Uuid = uuid, VersionId = vid, Note = note, Parents = parents.Select(p => p.VersionId).ToImmutableList(), Created = now, Updated = now,
        };
        repo.PrimeAncestry(vid, pending.Parents);
        var child = new VersionRef(repo, pending);
        foreach (var group in writes.GroupBy(w => w.Instance.Name))
        {
            var data = DataAt(child, group.First().Instance);
            await data.WriteAsync(tx =>
            {
                foreach (var (_, tkey, value) in group)
                {
                    if (value is null) tx.Delete(tkey);
                    else tx.Put(tkey, value);
                }
                return Task.FromResult(0);
            }, ct);
        }
        if (settle is not null) await settle(child);
        return await UpdateRepoAsync(repo, (s, _) =>
        {
            var current = parents.Select(p => s.Nodes.TryGetValue(p.VersionId, out var n) ? n : throw DatastoreException.BadRequest($"parent {p.Uuid} no longer exists")).ToList();
            var first = current[0];
            bool branchTaken = first.Children.Any(c => s.Nodes[c].Branch == first.Branch);
            return AddChild(s, vid, current, uuid, branchTaken ? uuid : first.Branch, note, locked: false);
        }, ct);
    }
}
