using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Issue 20: <c>GET /api/repo/{uuid}/storage</c>, the bytes each instance and version keeps (the viewer draws them).</summary>
public class StorageTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>Bytes that do not compress, so stored sizes are the values' sizes.</summary>
    private static byte[] Random(int n)
    {
        var b = new byte[n];
        System.Random.Shared.NextBytes(b);
        return b;
    }

    [Fact]
    public async Task Each_version_is_charged_for_the_entries_it_wrote_and_a_pruned_one_for_nothing()
    {
        var root = await _c.CreateRepoAsync("storage");
        await _c.CreateInstanceAsync(root, "keyvalue", "kv");
        await _c.CreateInstanceAsync(root, "keyvalue", "empty");
        await _c.PutKeyAsync(root, "kv", "a", Random(1000));
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        await _c.PutKeyAsync(child, "kv", "b", Random(3000));
        await _c.PutKeyAsync(child, "kv", "c", Random(5000));
        var side = await _c.BranchAsync(root, "side");
        await _c.PutKeyAsync(side, "kv", "d", Random(7000));

        async Task<Dictionary<string, (long Keys, long Bytes)>> VersionsOfKv()
        {
            using var doc = await _c.GetJsonAsync($"/api/repo/{child}/storage");
            Assert.Equal(root, doc.RootElement.GetProperty("Root").GetString());
            var instances = doc.RootElement.GetProperty("Instances").EnumerateArray().ToList();
            Assert.Equal(["empty", "kv"], instances.Select(i => i.GetProperty("Name").GetString()));
            Assert.Equal(0, instances[0].GetProperty("Bytes").GetInt64());
            var kv = instances[1];
            Assert.Equal("keyvalue", kv.GetProperty("TypeName").GetString());
            var versions = kv.GetProperty("Versions").EnumerateArray().ToDictionary(v => v.GetProperty("UUID").GetString()!, v => (v.GetProperty("Keys").GetInt64(), v.GetProperty("Bytes").GetInt64()));
            Assert.Equal(kv.GetProperty("Bytes").GetInt64(), versions.Values.Sum(v => v.Item2));
            Assert.Equal(kv.GetProperty("Keys").GetInt64(), versions.Values.Sum(v => v.Item1));
            return versions;
        }
        var before = await VersionsOfKv();
        // Each version holds its values (with their keys, the log records and the change records of its commits).
        Assert.InRange(before[root].Bytes, 1000, 1000 + 1500);
        Assert.InRange(before[child].Bytes, 8000, 8000 + 3000);
        Assert.InRange(before[side].Bytes, 7000, 7000 + 1500);
        Assert.True(before[child].Keys >= 2 && before[root].Keys >= 1);

        await (await _c.DeleteAsync($"/api/node/{side}?imsure=true")).ExpectAsync(200);
        var after = await VersionsOfKv();
        Assert.False(after.ContainsKey(side));
        Assert.Equal(before[root], after[root]);
        Assert.Equal(before[child], after[child]);
    }
}
