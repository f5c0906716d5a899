using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Storage;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Datastore;

public class PersistenceTests
{
    [Fact]
    public async Task Metadata_and_data_survive_reopening_the_store()
    {
        var dir = TempDir.Create("diced-reopen");
        try
        {
            string root, child;
            {
                await using var store = new RocksDbKeyValueStore(dir);
                var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
                var repo = await ds.CreateRepoAsync("persist", "across restarts");
                root = repo.Root;
                var v = ds.Resolve(root);
                var inst = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
                await new KeyValueData(ds.DataAt(v, inst)).PutAsync("k", new byte[] { 1, 2, 3 });
                await ds.CommitAsync(v, "locked", ["line"]);
                child = await ds.NewVersionAsync(ds.Resolve(root), "child", null);
                await new KeyValueData(ds.DataAt(ds.Resolve(child), inst)).DeleteAsync("k");
                await ds.AppendRepoLogAsync(repo, ["repo line"]);
            }
            {
                await using var store = new RocksDbKeyValueStore(dir);
                var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
                var v = ds.Resolve(root);
                Assert.True(v.Node.Locked);
                Assert.Equal("locked", v.Node.Note);
                Assert.Equal("persist", v.Repo.State.Alias);
                Assert.Single(v.Repo.State.Log, l => l.EndsWith("  repo line"));
                var inst = ds.GetInstance(v, "kv");
                Assert.Equal(new byte[] { 1, 2, 3 }, await new KeyValueData(ds.DataAt(v, inst)).GetAsync("k"));
                Assert.Null(await new KeyValueData(ds.DataAt(ds.Resolve(child), inst)).GetAsync("k"));
                // The lock is enforced after restart too, and new ids never collide with old ones.
                await Assert.ThrowsAsync<Diced.Datastore.DatastoreException>(async () => await new KeyValueData(ds.DataAt(v, inst)).PutAsync("k", new byte[] { 9 }));
                var again = await ds.CreateRepoAsync("second", "");
                Assert.NotEqual(v.Node.VersionId, again.RootVersion);
                Assert.True(again.RootVersion > ds.Resolve(child).Node.VersionId);
            }
        }
        finally
        {
            TempDir.Delete(dir);
        }
    }

    [Fact]
    public async Task Instance_deletion_removes_every_data_key()
    {
        await using var store = new MemoryKeyValueStore();
        var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("del", "");
        var v = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        var kv = new KeyValueData(ds.DataAt(v, inst));
        for (int i = 0; i < 100; i++) await kv.PutAsync($"k{i}", new byte[] { (byte)i });
        await ds.DeleteInstanceAsync(repo, "kv");
        await ds.DrainBackgroundAsync();
        var prefix = Diced.Datastore.Versioning.DataKeys.InstancePrefix(inst.InstanceId);
        int left = 0;
        await foreach (var _ in store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix))) left++;
        Assert.Equal(0, left);
    }

    [Fact]
    public async Task Commit_waits_for_admitted_writes_and_refuses_later_ones()
    {
        await using var store = new MemoryKeyValueStore();
        var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("gate", "");
        var v = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        var data = ds.DataAt(v, inst);
        var admitted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var write = data.WriteAsync(async tx => // an in-flight write
        {
            tx.Put(KeyValueData.TypeKey("late"), [0, 7]);
            admitted.SetResult();
            await release.Task;
            return 0;
        });
        await admitted.Task;
        var commit = ds.CommitAsync(v, "c", null);
        await Task.Delay(100);
        Assert.False(commit.IsCompleted); // the commit waits for the admitted write
        Assert.Throws<Diced.Datastore.DatastoreException>(() => data.Begin()); // and admits no new one
        release.SetResult();
        await write;
        await commit;
        Assert.Equal(new byte[] { 7 }, await new KeyValueData(ds.DataAt(ds.Resolve(repo.Root), inst)).GetAsync("late"));
    }
}
