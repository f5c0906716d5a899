using System.Text;
using Diced.Datastore.Types;
using Diced.Datastore.Types.KeyValue;
using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Tests.Datastore;

/// <summary>Issue 19: change records (what each version wrote), including for data written before they existed.</summary>
public class ChangeRecordTests
{
    [Fact]
    public void Records_round_trip_and_truncated_ones_are_refused()
    {
        byte[][] keys = [[], [1, 2, 3], new byte[200], [0xFF]];
        var record = ChangeRecords.Encode(keys);
        Assert.Equal(keys, ChangeRecords.Decode(record).ToArray());
        Assert.Throws<InvalidDataException>(() => ChangeRecords.Decode(record[..^1]).ToList());
        Assert.Throws<InvalidDataException>(() => ChangeRecords.Decode([0x80]).ToList());
    }

    [Fact]
    public async Task A_store_written_before_change_records_gets_them_once_at_open_and_diffs_see_its_data()
    {
        var store = new MemoryKeyValueStore();
        var ds = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var repo = await ds.CreateRepoAsync("old", "");
        var root = ds.Resolve(repo.Root);
        var inst = await ds.CreateInstanceAsync(root, new Dictionary<string, string> { ["typename"] = "keyvalue", ["dataname"] = "kv" });
        await new KeyValueData(ds.DataAt(root, inst)).PutAsync("a", "1"u8.ToArray());
        await ds.CommitAsync(root, "c", null);
        var child = ds.Resolve(await ds.NewVersionAsync(root, null, null));
        await new KeyValueData(ds.DataAt(child, inst)).PutAsync("b", "2"u8.ToArray());
        // Make it an old store: no change records, no flag.
        await store.DeleteRangeAsync(new byte[] { DataKeys.ChangePrefix }, new byte[] { DataKeys.ChangePrefix + 1 });
        await store.DeleteAsync(DataKeys.Metadata("changes-v1"));
        var reopened = await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        var changes = new List<string>();
        await foreach (var c in reopened.DiffAsync(reopened.Resolve(repo.Root), reopened.Resolve(child.Uuid), inst)) changes.Add($"{c.Key} {c.Change}");
        Assert.Equal(["b added"], changes);
        Assert.NotNull(await store.GetAsync(DataKeys.Metadata("changes-v1")));
        // Once: a second open adds no records.
        int Records() => store.ScanAsync(new byte[] { DataKeys.ChangePrefix }, new byte[] { DataKeys.ChangePrefix + 1 }, true).ToBlockingEnumerable().Count();
        int before = Records();
        await Diced.Datastore.Datastore.OpenAsync(store, DataTypeRegistry.Default());
        Assert.Equal(before, Records());
    }
}
