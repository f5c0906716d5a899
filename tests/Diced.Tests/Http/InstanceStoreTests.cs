using System.Net.Http.Headers;
using Diced.Datastore;
using Diced.Storage;
using Diced.Tests.Infrastructure;
using Xunit;

namespace Diced.Tests.Http;

/// <summary>
/// Instances on different stores (DVID's [backend] table): images in S3 (a real radosgw), the rest and all metadata
/// in the embedded store; the assignment survives restarts and deletions clean the right store.
/// </summary>
[Collection(RadosGwCollection.Name)]
public class InstanceStoreTests(RadosGwFixture rgw)
{
    private DicedFactory Server(string dataDir, string cloudPrefix, bool withCloud = true)
    {
        var f = new DicedFactory();
        f.Settings["Diced:Data"] = dataDir;
        if (!withCloud) return f;
        f.Settings["Diced:Stores:cloud"] = $"s3://{RadosGwFixture.Bucket}/{cloudPrefix}";
        f.Settings["Diced:Backend:uint8blk"] = "cloud";
        f.Settings["Diced:S3:Endpoint"] = rgw.Endpoint;
        f.Settings["Diced:S3:AccessKey"] = rgw.AccessKey;
        f.Settings["Diced:S3:SecretKey"] = rgw.SecretKey;
        f.Settings["Diced:S3:Region"] = "us-east-1";
        f.Settings["Diced:S3:CreateBucket"] = "true";
        return f;
    }

    private async Task<List<byte[]>> CloudKeysAsync(string prefix)
    {
        await using var s3 = await rgw.OpenStoreAsync(prefix);
        var keys = new List<byte[]>();
        await foreach (var kv in s3.ScanAsync(Array.Empty<byte>(), Array.Empty<byte>(), keysOnly: true)) keys.Add(kv.Key);
        return keys;
    }

    [Fact]
    public async Task Image_instances_live_in_the_cloud_store_and_the_rest_stays_local()
    {
        var dataDir = TempDir.Create("diced-split");
        var cloudPrefix = $"split-{Guid.NewGuid():N}";
        var voxels = new byte[64 * 64 * 64];
        new Random(3).NextBytes(voxels);
        string uuid;
        try
        {
            using (var f = Server(dataDir, cloudPrefix))
            {
                var c = f.Client;
                uuid = await c.CreateRepoAsync();
                await c.CreateInstanceAsync(uuid, "uint8blk", "grey");
                await c.CreateInstanceAsync(uuid, "keyvalue", "kv");
                (await c.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(voxels))).EnsureSuccessStatusCode();
                await c.PutKeyAsync(uuid, "kv", "k", [1, 2, 3]);
                using var info = await c.GetJsonAsync($"/api/node/{uuid}/grey/info");
                Assert.StartsWith($"s3 @ s3://{RadosGwFixture.Bucket}/{cloudPrefix}", info.RootElement.GetProperty("Base").GetProperty("KVStore").GetString());
                using var kvInfo = await c.GetJsonAsync($"/api/node/{uuid}/kv/info");
                Assert.DoesNotContain("s3", kvInfo.RootElement.GetProperty("Base").GetProperty("KVStore").GetString());
            }

            // The cloud prefix holds the image blocks (one instance's data keys), their change records and the flag
            // saying the store has change records, nothing else.
            var all = await CloudKeysAsync(cloudPrefix);
            Assert.Equal([Diced.Datastore.Versioning.DataKeys.Metadata("changes-v1")], all.Where(k => k[0] == 0x00));
            var keys = all.Where(k => k[0] != 0x00).ToList();
            Assert.NotEmpty(keys);
            Assert.All(keys, k => Assert.True(k[0] is 0x01 or 0x02));
            var greyId = keys[0].AsSpan(1, 4).ToArray();
            Assert.All(keys, k => Assert.Equal(greyId, k.AsSpan(1, 4).ToArray()));
            // The embedded store has metadata and the keyvalue's data, but none of the image's.
            await using (var local = new RocksDbKeyValueStore(dataDir))
            {
                var prefix = new byte[] { 0x01 }.Concat(greyId).ToArray();
                await foreach (var _ in local.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), keysOnly: true)) Assert.Fail("image data in the embedded store");
                var kvPrefix = new byte[] { 0x01 };
                int localData = 0;
                await foreach (var _ in local.ScanAsync(kvPrefix, KeyOrder.PrefixEnd(kvPrefix), keysOnly: true)) localData++;
                Assert.True(localData > 0, "the keyvalue's data should be in the embedded store");
            }

            // After a restart the assignment holds (it is recorded with the instance).
            using (var f = Server(dataDir, cloudPrefix))
            {
                var back = await f.Client.GetByteArrayAsync($"/api/node/{uuid}/grey/raw/0_1_2/64_64_64/0_0_0");
                Assert.Equal(voxels, back);
                Assert.Equal(new byte[] { 1, 2, 3 }, await f.Client.GetKeyAsync(uuid, "kv", "k"));
            }

            // A server without that store says so for that instance and serves everything else.
            using (var f = Server(dataDir, cloudPrefix, withCloud: false))
            {
                var r = await f.Client.GetAsync($"/api/node/{uuid}/grey/raw/0_1_2/64_64_64/0_0_0");
                await r.ExpectErrorAsync(503, "store \"cloud\"");
                Assert.Equal(new byte[] { 1, 2, 3 }, await f.Client.GetKeyAsync(uuid, "kv", "k"));
                (await f.Client.GetAsync($"/api/repo/{uuid}/info")).EnsureSuccessStatusCode();
            }

            // Deleting the instance removes its data and change records from the cloud store (the store's flag stays).
            using (var f = Server(dataDir, cloudPrefix))
            {
                (await f.Client.DeleteAsync($"/api/repo/{uuid}/grey?imsure=true")).EnsureSuccessStatusCode();
                async Task<List<byte[]>> Left() => (await CloudKeysAsync(cloudPrefix)).Where(k => k[0] != 0x00).ToList();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while ((await Left()).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
                Assert.Empty(await Left());
            }
        }
        finally
        {
            TempDir.Delete(dataDir);
        }
    }
}

public class StoreMapTests
{
    [Fact]
    public void An_instance_entry_beats_its_type_and_unknown_stores_are_refused_at_start()
    {
        var main = new MemoryKeyValueStore();
        var named = new Dictionary<string, IKeyValueStore> { ["ssd"] = new MemoryKeyValueStore(), ["cloud"] = new MemoryKeyValueStore() };
        var map = new StoreMap(main, named, new Dictionary<string, string>
        {
            ["uint8blk"] = "cloud", ["keyvalue"] = "ssd", ["ab12/special"] = "default", ["ab12/labels"] = "ssd",
        });
        Assert.Equal("cloud", map.Choose("uint8blk", "ab12cd34", "grey"));
        Assert.Null(map.Choose("uint8blk", "ab12cd34", "special"));          // instance entry: the main store
        Assert.Equal("cloud", map.Choose("uint8blk", "ffff0000", "special")); // another repo: by type
        Assert.Equal("ssd", map.Choose("uint16blk", "AB12cd34", "labels"));
        Assert.Null(map.Choose("roi", "ab12cd34", "r"));
        var e = Assert.Throws<ArgumentException>(() => new StoreMap(main, named, new Dictionary<string, string> { ["roi"] = "tape" }));
        Assert.Contains("\"tape\"", e.Message);
        var missing = Assert.Throws<DatastoreException>(() => map.Of(new InstanceRecord
            { Name = "x", TypeName = "roi", DataUuid = "d", InstanceId = 1, RepoUuid = "r", Store = "gone" }));
        Assert.Equal(ErrorKind.Unavailable, missing.Kind);
    }
}
