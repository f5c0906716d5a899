using System.Text;
using Diced.Datastore;
using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Datastore;

/// <summary>
/// Long random sequences of commit/branch/newversion/put/delete/read at random nodes, checked after every step
/// against a plain in-memory model of the same DAG.
/// </summary>
public class VersioningModelTests
{
    /// <summary>The model: each node keeps only its own writes; a read walks up to the root.</summary>
    private sealed class ModelNode
    {
        public required string Uuid;
        public ModelNode? Parent;
        public bool Locked;
        public string Branch = "";
        public readonly Dictionary<string, byte[]?> Writes = new(); // null = deleted here
        public readonly List<ModelNode> Children = new();

        public byte[]? Read(string key)
        {
            for (var n = this; n is not null; n = n.Parent)
                if (n.Writes.TryGetValue(key, out var v)) return v;
            return null;
        }

        public SortedSet<string> Keys(IEnumerable<string> universe)
            => new(universe.Where(k => Read(k) is not null), StringComparer.Ordinal);
    }

    private static readonly string[] KeyUniverse = ["a", "ab", "abc", "b", "a\0", "a\0b", "z:1", "é", ""];

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public async Task Random_dag_operations_match_the_model(int seed, bool rocksdb)
    {
        var dir = rocksdb ? TempDir.Create("diced-model") : null;
        IKeyValueStore store = rocksdb ? new RocksDbKeyValueStore(dir!) : new MemoryKeyValueStore();
        try
        {
            var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
            var rng = new Random(seed);
            var repo = await ds.CreateRepoAsync("model", "");
            var root = ds.Resolve(repo.Root);
            var inst = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
            // A second instance receives the same writes shifted, to prove instances never see each other's keys.
            var other = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "other", ["compression"] = "none" });
            var nodes = new List<ModelNode> { new() { Uuid = repo.Root } };
            int branchCounter = 0;
            var keyFor = (int i) => KeyUniverse[i % KeyUniverse.Length];

            KeyValueData Kv(ModelNode n, InstanceRecord i) => new(ds.DataAt(ds.Resolve(n.Uuid), i));

            for (int step = 0; step < 1500; step++)
            {
                var node = nodes[rng.Next(nodes.Count)];
                var key = keyFor(rng.Next(KeyUniverse.Length));
                int op = rng.Next(100);
                string context = $"seed {seed} step {step} op {op} node {node.Uuid[..6]} key {Show(key)}";
                if (op < 30)
                {
                    var value = Encoding.UTF8.GetBytes($"v{step}");
                    var attempt = async () => await Kv(node, inst).PutAsync(key, value);
                    if (node.Locked) await Assert.ThrowsAsync<DatastoreException>(attempt);
                    else
                    {
                        await attempt();
                        node.Writes[key] = value;
                        await Kv(node, other).PutAsync(key, value.Append((byte)1).ToArray());
                    }
                }
                else if (op < 42)
                {
                    var attempt = async () => await Kv(node, inst).DeleteAsync(key);
                    if (node.Locked) await Assert.ThrowsAsync<DatastoreException>(attempt);
                    else
                    {
                        await attempt();
                        node.Writes[key] = null;
                    }
                }
                else if (op < 50)
                {
                    var v = ds.Resolve(node.Uuid);
                    if (node.Locked) await Assert.ThrowsAsync<DatastoreException>(() => ds.CommitAsync(v, "again", null));
                    else
                    {
                        await ds.CommitAsync(v, $"commit {step}", null);
                        node.Locked = true;
                    }
                }
                else if (op < 57)
                {
                    var v = ds.Resolve(node.Uuid);
                    bool sameBranchChild = node.Children.Any(c => c.Branch == node.Branch);
                    if (!node.Locked || sameBranchChild) await Assert.ThrowsAsync<DatastoreException>(() => ds.NewVersionAsync(v, null, null));
                    else
                    {
                        var child = new ModelNode { Uuid = await ds.NewVersionAsync(v, null, null), Parent = node, Branch = node.Branch };
                        node.Children.Add(child);
                        nodes.Add(child);
                    }
                }
                else if (op < 62)
                {
                    var v = ds.Resolve(node.Uuid);
                    var name = $"b{branchCounter++}";
                    if (!node.Locked) await Assert.ThrowsAsync<DatastoreException>(() => ds.BranchAsync(v, name, null, null));
                    else
                    {
                        var child = new ModelNode { Uuid = await ds.BranchAsync(v, name, null, null), Parent = node, Branch = name };
                        node.Children.Add(child);
                        nodes.Add(child);
                    }
                }
                else if (op < 90)
                {
                    var got = await Kv(node, inst).GetAsync(key);
                    Assert.True(Same(node.Read(key), got), $"{context}: read {Show(got)} expected {Show(node.Read(key))}");
                    Assert.Equal(node.Read(key) is not null, await Kv(node, inst).ExistsAsync(key));
                }
                else
                {
                    var expected = node.Keys(KeyUniverse).ToList();
                    var actual = new List<string>();
                    await foreach (var k in Kv(node, inst).KeysAsync()) actual.Add(k);
                    Assert.True(expected.SequenceEqual(actual), $"{context}: keys [{string.Join(",", actual.Select(Show))}] expected [{string.Join(",", expected.Select(Show))}]");
                    var otherKeys = new List<string>();
                    await foreach (var k in Kv(node, other).KeysAsync()) otherKeys.Add(k);
                    Assert.True(otherKeys.All(k => node.Writes.ContainsKey(k) || nodes.Any(n => n.Writes.ContainsKey(k))), context);
                }
            }
            // Finally every node agrees with the model on every key.
            foreach (var n in nodes)
                foreach (var k in KeyUniverse)
                    Assert.True(Same(n.Read(k), await Kv(n, inst).GetAsync(k)), $"final check node {n.Uuid[..6]} key {Show(k)}");
            Assert.True(nodes.Count > 10, "the sequence should have grown a real DAG");
        }
        finally
        {
            await store.DisposeAsync();
            if (dir is not null) TempDir.Delete(dir);
        }
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static string Show(string k) => k.Replace("\0", "\\0");

    private static string Show(byte[]? v) => v is null ? "absent" : Encoding.UTF8.GetString(v);
}
