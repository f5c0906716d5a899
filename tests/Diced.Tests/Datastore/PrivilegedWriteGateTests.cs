using Diced.Datastore;
using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;

namespace Diced.Tests.Datastore;

/// <summary>
/// Regression (issue 19 review): writers allowed to write locked nodes (<c>-fullwrite</c>, admins) passed no gate, so
/// deleting or archiving a committed leaf did not wait for such a write in flight: it could leave keys of a deleted
/// version behind, or change a version just archived.
/// </summary>
public class PrivilegedWriteGateTests
{
    private static async Task<(Diced.Datastore.Datastore Ds, Repo Repo, VersionRef Leaf, InstanceRecord Kv)> CommittedLeafAsync()
    {
        var ds = await Diced.Datastore.Datastore.OpenAsync(new MemoryKeyValueStore(), DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("gates", "");
        var root = ds.Resolve(repo.Root);
        var kv = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        await ds.CommitAsync(root, "root", null);
        var leaf = ds.Resolve(await ds.BranchAsync(root, "side", null, null));
        await ds.CommitAsync(leaf, "leaf", null);
        return (ds, repo, ds.Resolve(leaf.Uuid), kv);
    }

    [Fact]
    public async Task Deleting_a_committed_leaf_waits_for_a_privileged_write_in_flight_and_admits_none_after()
    {
        var (ds, _, leaf, kv) = await CommittedLeafAsync();
        var inFlight = ds.DataAt(leaf, kv, mayWriteLocked: true).Begin();
        var delete = ds.DeleteNodeAsync(leaf);
        await Task.Delay(300);
        Assert.False(delete.IsCompleted);
        inFlight.Dispose();
        await delete;
        await Assert.ThrowsAsync<DatastoreException>(() => new KeyValueData(ds.DataAt(leaf, kv, mayWriteLocked: true)).PutAsync("late", new byte[] { 1 }).AsTask());
    }

    [Fact]
    public async Task Archiving_a_branch_waits_for_a_privileged_write_in_flight_and_admits_none_after()
    {
        var (ds, repo, leaf, kv) = await CommittedLeafAsync();
        var inFlight = ds.DataAt(leaf, kv, mayWriteLocked: true).Begin();
        var archive = ds.ArchiveBranchAsync(repo, "side");
        await Task.Delay(300);
        Assert.False(archive.IsCompleted);
        inFlight.Dispose();
        await archive;
        await Assert.ThrowsAsync<DatastoreException>(() => new KeyValueData(ds.DataAt(ds.Resolve(leaf.Uuid), kv, mayWriteLocked: true)).PutAsync("late", new byte[] { 1 }).AsTask());
        // A privileged write to a locked node that is neither archived nor deleted still goes through.
        await new KeyValueData(ds.DataAt(ds.Resolve(repo.Root), kv, mayWriteLocked: true)).PutAsync("fix", new byte[] { 2 });
    }
}
