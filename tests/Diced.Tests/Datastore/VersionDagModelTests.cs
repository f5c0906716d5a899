using System.Text;
using Diced.Datastore;
using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Datastore;

/// <summary>
/// Issue 19: random DAGs grown by writes, deletes, commits, branches, merges, priority resolves and prunes of leaves,
/// checked against a plain model after every step: every remaining version reads what the model says, merges
/// conflict exactly when two sides changed a key differently since their common ancestors, diffs list exactly the
/// keys that read differently, and pruning changes nothing visible anywhere else.
/// </summary>
public class VersionDagModelTests
{
    private sealed class Node
    {
        public required string Uuid;
        public List<Node> Parents = [];
        public Dictionary<string, string> Base = [];          // the state it started with (its parent's, or the merge's)
        public Dictionary<string, string?> Own = [];           // its own writes (null: deleted)
        public HashSet<string> MergeWrites = [];               // keys a merge wrote into it (resolved, or copied so reads find them)
        public bool Locked;
        public List<Node> Children = [];

        public Dictionary<string, string> State()
        {
            var s = new Dictionary<string, string>(Base);
            foreach (var (k, v) in Own)
                if (v is null) s.Remove(k);
                else s[k] = v;
            return s;
        }

        public HashSet<Node> Ancestry()
        {
            var set = new HashSet<Node>();
            var stack = new Stack<Node>([this]);
            while (stack.Count > 0)
                if (stack.Pop() is var n && set.Add(n)) foreach (var p in n.Parents) stack.Push(p);
            return set;
        }
    }

    private static readonly string[] Keys = ["a", "b", "c", "d", "e", "f"];

    [Theory]
    [InlineData(11, false)]
    [InlineData(12, false)]
    [InlineData(13, false)]
    [InlineData(14, true)]
    public async Task Random_dags_with_merges_and_prunes_match_the_model(int seed, bool rocksdb)
    {
        var dir = rocksdb ? TempDir.Create("diced-dag-model") : null;
        IKeyValueStore store = rocksdb ? new RocksDbKeyValueStore(dir!) : new MemoryKeyValueStore();
        try
        {
            var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
            var rng = new Random(seed);
            var repo = await ds.CreateRepoAsync("dag", "");
            var inst = await ds.CreateInstanceAsync(ds.Resolve(repo.Root), new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
            var nodes = new List<Node> { new() { Uuid = repo.Root } };
            KeyValueData Kv(Node n) => new(ds.DataAt(ds.Resolve(n.Uuid), inst));
            int merges = 0, conflicts = 0, prunes = 0, branches = 0;
            for (int step = 0; step < 600; step++)
            {
                var node = nodes[rng.Next(nodes.Count)];
                var key = Keys[rng.Next(Keys.Length)];
                string context = $"seed {seed} step {step}";
                int op = rng.Next(100);
                if (op < 35 && !node.Locked)
                {
                    var value = $"v{step}";
                    await Kv(node).PutAsync(key, Encoding.UTF8.GetBytes(value));
                    node.Own[key] = value;
                }
                else if (op < 45 && !node.Locked)
                {
                    await Kv(node).DeleteAsync(key);
                    node.Own[key] = null;
                }
                else if (op < 55 && !node.Locked)
                {
                    await ds.CommitAsync(ds.Resolve(node.Uuid), $"c{step}", null);
                    node.Locked = true;
                }
                else if (op < 68 && node.Locked)
                {
                    var child = new Node { Uuid = await ds.BranchAsync(ds.Resolve(node.Uuid), $"b{branches++}", null, null), Parents = [node], Base = node.State() };
                    node.Children.Add(child);
                    nodes.Add(child);
                }
                else if (op < 82)
                {
                    // Merge two locked versions neither of which descends from the other.
                    var locked = nodes.Where(n => n.Locked).ToList();
                    if (locked.Count < 2) continue;
                    var p1 = locked[rng.Next(locked.Count)];
                    var p2 = locked[rng.Next(locked.Count)];
                    if (p1 == p2 || p1.Ancestry().Contains(p2) || p2.Ancestry().Contains(p1)) continue;
                    var (expected, conflicting) = Expect(p1, p2);
                    bool resolve = rng.Next(3) == 0;
                    string uuid;
                    try
                    {
                        uuid = resolve ? await ds.ResolveAsync(repo, ["kv"], [p1.Uuid, p2.Uuid], "r")
                                       : await ds.MergeAsync(repo, [p1.Uuid, p2.Uuid], "m");
                    }
                    catch (MergeConflictException e)
                    {
                        Assert.False(resolve, $"{context}: resolve refused: {e.Message}");
                        Assert.True(conflicting.Count > 0, $"{context}: merge refused but the model sees no conflict: {e.Message}");
                        Assert.Equal(conflicting.Order(), e.Conflicts.Single().Keys.Order());
                        conflicts++;
                        continue;
                    }
                    Assert.True(resolve || conflicting.Count == 0, $"{context}: merge accepted with conflicts on {string.Join(",", conflicting)}");
                    foreach (var k in conflicting) // resolved: the first parent's value
                    {
                        var v = p1.State().GetValueOrDefault(k);
                        if (v is null) expected.Remove(k);
                        else expected[k] = v;
                    }
                    var m = new Node { Uuid = uuid, Parents = [p1, p2], Base = expected };
                    // What the merge wrote into the child counts as its change in later merges, as the server counts it.
                    var type = ds.Types.Get("keyvalue");
                    foreach (var k in await ds.ChangedKeysAsync(inst, [ds.Resolve(uuid).Node.VersionId])) m.MergeWrites.Add(type.DescribeKey(k));
                    Assert.True(resolve || m.MergeWrites.All(k => !conflicting.Contains(k)), context);
                    p1.Children.Add(m);
                    p2.Children.Add(m);
                    nodes.Add(m);
                    merges++;
                }
                else if (op < 88)
                {
                    // Prune a leaf that is not the root.
                    var leaves = nodes.Where(n => n.Children.Count == 0 && n.Parents.Count > 0).ToList();
                    if (leaves.Count == 0) continue;
                    var leaf = leaves[rng.Next(leaves.Count)];
                    await ds.DeleteNodeAsync(ds.Resolve(leaf.Uuid));
                    foreach (var p in leaf.Parents) p.Children.Remove(leaf);
                    nodes.Remove(leaf);
                    Assert.False(ds.UuidExists(leaf.Uuid), context);
                    prunes++;
                }
                else if (op < 94)
                {
                    var other = nodes[rng.Next(nodes.Count)];
                    var want = Keys.Where(k => node.State().GetValueOrDefault(k) != other.State().GetValueOrDefault(k)).Order(StringComparer.Ordinal).ToList();
                    var got = new List<string>();
                    await foreach (var c in ds.DiffAsync(ds.Resolve(node.Uuid), ds.Resolve(other.Uuid), inst)) got.Add(c.Key);
                    Assert.True(want.SequenceEqual(got), $"{context}: diff [{string.Join(",", got)}] expected [{string.Join(",", want)}]");
                }
                else await CheckAll(nodes, Kv, context);
            }
            await CheckAll(nodes, Kv, $"seed {seed} end");
            Assert.True(merges >= 3 && prunes >= 3 && conflicts >= 1, $"the sequence should merge ({merges}), conflict ({conflicts}) and prune ({prunes})");
        }
        finally
        {
            await store.DisposeAsync();
            if (dir is not null) TempDir.Delete(dir);
        }
    }

    /// <summary>The merged state of two parents, and the keys both changed differently since their common ancestors.</summary>
    private static (Dictionary<string, string> State, List<string> Conflicts) Expect(Node p1, Node p2)
    {
        var a1 = p1.Ancestry();
        var a2 = p2.Ancestry();
        var common = a1.Intersect(a2).ToHashSet();
        HashSet<string> Changed(HashSet<Node> anc) => anc.Where(n => !common.Contains(n)).SelectMany(n => n.Own.Keys.Concat(n.MergeWrites)).ToHashSet();
        var c1 = Changed(a1);
        var c2 = Changed(a2);
        var s1 = p1.State();
        var s2 = p2.State();
        var state = new Dictionary<string, string>();
        var conflicts = new List<string>();
        foreach (var k in Keys)
        {
            var v1 = s1.GetValueOrDefault(k);
            var v2 = s2.GetValueOrDefault(k);
            string? v = (c1.Contains(k), c2.Contains(k)) switch
            {
                (true, true) when v1 != v2 => Conflict(k),
                (true, _) => v1,
                (_, true) => v2,
                _ => v1 == v2 ? v1 : throw new InvalidOperationException($"key {k} changed by neither side reads {v1} and {v2}"),
            };
            if (v is not null) state[k] = v;
        }
        return (state, conflicts);

        string? Conflict(string k)
        {
            conflicts.Add(k);
            return null;
        }
    }

    private static async Task CheckAll(List<Node> nodes, Func<Node, KeyValueData> kv, string context)
    {
        foreach (var n in nodes)
        {
            var state = n.State();
            foreach (var k in Keys)
            {
                var got = await kv(n).GetAsync(k);
                var want = state.GetValueOrDefault(k);
                Assert.True(want == (got is null ? null : Encoding.UTF8.GetString(got)), $"{context}: node {n.Uuid[..6]} key {k} reads {(got is null ? "absent" : Encoding.UTF8.GetString(got))}, expected {want ?? "absent"}");
            }
        }
    }
}
