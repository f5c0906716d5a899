using Diced.Datastore;
using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;
using Diced.Tests.Faults;

namespace Diced.Tests.Datastore;

/// <summary>Regression (issue 19 review): the merge child was published before its merge data was stored, so a
/// failure (or a reader, writer or commit) in between met a half-merged version.</summary>
public class MergeAtomicityTests
{
    [Fact]
    public async Task A_merge_whose_data_cannot_be_stored_leaves_no_child()
    {
        var faulty = new FaultInjectingKeyValueStore(new MemoryKeyValueStore(), failBefore: 0, failAfter: 1, seed: 1) { Enabled = false };
        var stores = new StoreMap(new MemoryKeyValueStore(), new Dictionary<string, IKeyValueStore> { ["f"] = faulty }, new Dictionary<string, string> { ["keyvalue"] = "f" });
        var ds = await Diced.Datastore.Datastore.OpenAsync(stores, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("atomic", "");
        var root = ds.Resolve(repo.Root);
        var kv = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        await ds.CommitAsync(root, "root", null);
        var a = ds.Resolve(await ds.BranchAsync(root, "a", null, null));
        var b = ds.Resolve(await ds.BranchAsync(root, "b", null, null));
        await new KeyValueData(ds.DataAt(a, kv)).PutAsync("k", "a"u8.ToArray());
        await new KeyValueData(ds.DataAt(b, kv)).PutAsync("k", "b"u8.ToArray());
        await ds.CommitAsync(a, "a", null);
        await ds.CommitAsync(b, "b", null);
        int nodes = repo.State.Nodes.Count;
        faulty.Enabled = true; // every write of the instance's store now fails after it took effect
        await Assert.ThrowsAnyAsync<Exception>(() => ds.ResolveAsync(repo, ["kv"], [a.Uuid, b.Uuid], "r"));
        Assert.Equal(nodes, repo.State.Nodes.Count);
        faulty.Enabled = false;
        var child = ds.Resolve(await ds.ResolveAsync(repo, ["kv"], [a.Uuid, b.Uuid], "r"));
        Assert.Equal("a"u8.ToArray(), await new KeyValueData(ds.DataAt(child, kv)).GetAsync("k"));
        Assert.Equal(nodes + 1, repo.State.Nodes.Count);
    }

    /// <summary>Regression (issue 19 review): with three parents, a version two of them share counted as a change of
    /// both, so one of them writing the key again since looked like a conflict with the other.</summary>
    [Fact]
    public async Task A_key_rewritten_after_a_version_two_of_three_parents_share_is_no_conflict()
    {
        var ds = await Diced.Datastore.Datastore.OpenAsync(new MemoryKeyValueStore(), DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("three", "");
        var root = ds.Resolve(repo.Root);
        var kv = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        KeyValueData At(VersionRef v) => new(ds.DataAt(v, kv));
        await ds.CommitAsync(root, "root", null);
        var shared = ds.Resolve(await ds.BranchAsync(root, "shared", null, null));
        await At(shared).PutAsync("k", "shared"u8.ToArray());
        await ds.CommitAsync(shared, "s", null);
        var p1 = ds.Resolve(await ds.BranchAsync(shared, "p1", null, null));
        await At(p1).PutAsync("other", "x"u8.ToArray());
        await ds.CommitAsync(p1, "p1", null);
        var p2 = ds.Resolve(await ds.BranchAsync(shared, "p2", null, null));
        await At(p2).PutAsync("k", "rewritten"u8.ToArray());
        await ds.CommitAsync(p2, "p2", null);
        var p3 = ds.Resolve(await ds.BranchAsync(root, "p3", null, null));
        await At(p3).PutAsync("third", "y"u8.ToArray());
        await ds.CommitAsync(p3, "p3", null);
        var child = ds.Resolve(await ds.MergeAsync(repo, [p1.Uuid, p2.Uuid, p3.Uuid], "three"));
        Assert.Equal("rewritten"u8.ToArray(), await At(child).GetAsync("k"));
        Assert.Equal("x"u8.ToArray(), await At(child).GetAsync("other"));
        Assert.Equal("y"u8.ToArray(), await At(child).GetAsync("third"));
    }
}
