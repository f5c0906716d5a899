using Diced.Datastore.Types;
using Diced.Datastore.Versioning;
using Diced.Storage;
using Diced.Tests.Faults;

namespace Diced.Tests.Datastore;

/// <summary>
/// <see cref="Transaction.Join"/>: changes to several instances commit in one batch, so a failed commit changes none of
/// them, a successful one all of them, and the joined instances' stamps mark the commit for their readers.
/// </summary>
public class TransactionJoinTests
{
    /// <summary>Two keyvalue instances over a store that fails every call once <c>Enabled</c> is set.</summary>
    private static async Task<(Diced.Datastore.Datastore Ds, VersionedData A, VersionedData B, FaultInjectingKeyValueStore Faulty)> OpenAsync()
    {
        var faulty = new FaultInjectingKeyValueStore(new MemoryKeyValueStore(), failBefore: 1.0, failAfter: 0, seed: 3) { Enabled = false };
        var ds = await Diced.Datastore.Datastore.OpenAsync(faulty, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("join", "");
        var v = ds.Resolve(repo.Root);
        var a = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "a" });
        var b = await ds.CreateInstanceAsync(v, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "b" });
        return (ds, ds.DataAt(v, a), ds.DataAt(v, b), faulty);
    }

    private static Task<int> WriteBothAsync(VersionedData a, VersionedData b, byte value, VersionStamp? stamp = null) => a.WriteAsync(tx =>
    {
        tx.Put([1], [value]);
        var part = tx.Join(b, stamp);
        Assert.Same(part, tx.Join(b)); // one part per instance
        part.Put([2], [value]);
        return Task.FromResult(0);
    });

    [Fact]
    public async Task A_failed_commit_changes_neither_instance_and_a_good_one_changes_both()
    {
        var (ds, a, b, faulty) = await OpenAsync();
        await using var _ = ds;
        await WriteBothAsync(a, b, 1);
        Assert.Equal([1], await a.GetAsync([1]));
        Assert.Equal([1], await b.GetAsync([2]));

        faulty.Enabled = true; // the commit's batch fails
        await Assert.ThrowsAsync<TransientStoreException>(() => WriteBothAsync(a, b, 2));
        faulty.Enabled = false;
        Assert.Equal([1], await a.GetAsync([1]));
        Assert.Equal([1], await b.GetAsync([2]));

        await WriteBothAsync(a, b, 3);
        Assert.Equal([3], await a.GetAsync([1]));
        Assert.Equal([3], await b.GetAsync([2]));
    }

    [Fact]
    public async Task The_joined_instances_stamp_marks_the_commit()
    {
        var (ds, a, b, _) = await OpenAsync();
        await using var __ = ds;
        var stamp = new VersionStamp();
        long before = stamp.Current;
        long during = -1;
        await a.WriteAsync(tx =>
        {
            tx.Join(b, stamp).Put([2], [7]);
            during = stamp.Current;
            return Task.FromResult(0);
        });
        Assert.Equal(before, during); // not yet committing while the body runs
        Assert.Equal(before + 2, stamp.Current); // odd during the commit, even again after it
    }

    [Fact]
    public async Task Instances_of_different_stores_cannot_join()
    {
        var (ds, a, _, _) = await OpenAsync();
        var (ds2, _, b2, _) = await OpenAsync();
        await using var x = ds;
        await using var y = ds2;
        var e = await Assert.ThrowsAsync<Diced.Datastore.DatastoreException>(() => a.WriteAsync(tx => { tx.Join(b2); return Task.FromResult(0); }));
        Assert.Contains("different stores", e.Message);
        Assert.Null(await a.GetAsync([1]));
    }
}
