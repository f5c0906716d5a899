using System.Text.Json;
using Diced.Datastore.Versioning;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Issue 19: pruning a leaf version on S3 (Ceph radosgw) deletes its objects and nothing else.</summary>
[Collection(RadosGwCollection.Name)]
public class VersionPruneOnS3Tests(RadosGwFixture rgw)
{
    [Fact]
    public async Task A_pruned_version_leaves_no_object_behind_and_its_parent_reads_as_before()
    {
        var c = rgw.Server.Client;
        var store = (Diced.Datastore.Datastore)rgw.Server.Services.GetService(typeof(Diced.Datastore.Datastore))!;
        var root = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(root, "keyvalue", "kv");
        await c.CreateInstanceAsync(root, "uint8blk", "grey", new { BlockSize = "8,8,8" });
        await c.PutKeyAsync(root, "kv", "a", "root"u8.ToArray());
        await (await c.PostAsync($"/api/node/{root}/grey/raw/0_1_2/16_8_8/0_0_0", new ByteArrayContent(Enumerable.Repeat((byte)4, 1024).ToArray()))).ExpectAsync(200);
        await c.CommitAsync(root);
        var leaf = await c.NewVersionAsync(root);
        await c.PutKeyAsync(leaf, "kv", "a", "leaf"u8.ToArray());
        await (await c.DeleteAsync($"/api/node/{leaf}/kv/key/a")).ExpectAsync(200);
        await c.PutKeyAsync(leaf, "kv", "b", "leaf"u8.ToArray());
        await (await c.PostAsync($"/api/node/{leaf}/grey/raw/0_1_2/8_8_8/0_0_0", new ByteArrayContent(new byte[512]))).ExpectAsync(200);
        uint version = store.Resolve(leaf).Node.VersionId;
        uint rootVersion = store.Resolve(root).Node.VersionId;

        await (await c.DeleteAsync($"/api/node/{leaf}?imsure=true")).ExpectAsync(200);
        int ofRoot = 0;
        await foreach (var kv in store.Stores.Main.ScanAsync(new byte[] { DataKeys.DataPrefix }, new byte[] { DataKeys.ChangePrefix + 1 }, keysOnly: true))
        {
            uint v = kv.Key[0] == DataKeys.DataPrefix ? DataKeys.VersionOf(kv.Key) : DataKeys.VersionOfChange(kv.Key);
            Assert.NotEqual(version, v);
            if (v == rootVersion) ofRoot++;
        }
        Assert.True(ofRoot > 0);
        Assert.Equal("root", await c.GetStringAsync($"/api/node/{root}/kv/key/a"));
        Assert.Equal(Enumerable.Repeat((byte)4, 1024), await (await c.GetAsync($"/api/node/{root}/grey/raw/0_1_2/16_8_8/0_0_0")).Content.ReadAsByteArrayAsync());
        using var info = await c.GetJsonAsync($"/api/repo/{root}/info");
        Assert.False(info.RootElement.GetProperty("DAG").GetProperty("Nodes").TryGetProperty(leaf, out _));
    }
}
