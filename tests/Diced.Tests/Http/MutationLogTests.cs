using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Diced.Codecs.SparseVolumes;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>DVID's mutation log and the routes that read it (issue 13): records as neuclease parses them, ranges of
/// versions, supervoxel splits, a body's history, and keyvalue's log.</summary>
public class MutationLogTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A labelmap with supervoxels 1..4 in x-slabs of a 64x32x32 volume.</summary>
    private async Task<string> SegAsync()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg", new { BlockSize = "32,32,32" });
        var labels = new ulong[64 * 32 * 32];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i % 64 / 16);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_32_32/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        return uuid;
    }

    [Fact]
    public async Task Records_are_dvids_complete_messages_with_a_timestamp_neuclease_parses()
    {
        var uuid = await SegAsync();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge?u=alice&app=neu3", DvidClient.Json(new[] { 1, 2 }))).ExpectAsync(200);
        using var log = await _c.GetJsonAsync($"/api/node/{uuid}/seg/mutations");
        var r = log.RootElement.EnumerateArray().Single();
        Assert.Equal("merge-complete", r.GetProperty("Action").GetString());
        Assert.Equal(1UL, r.GetProperty("Target").GetUInt64());
        Assert.Equal([2UL], r.GetProperty("Labels").EnumerateArray().Select(e => e.GetUInt64()));
        Assert.Equal("alice", r.GetProperty("User").GetString());
        Assert.Equal(uuid, r.GetProperty("UUID").GetString());
        // neuclease: r"(\d\d\d\d-\d\d-\d\d) (\d\d:\d\d:\d\d.\d+) (.\d\d\d\d) .*"
        Assert.Matches(new Regex(@"^(\d\d\d\d-\d\d-\d\d) (\d\d:\d\d:\d\d.\d+) (.\d\d\d\d) .*"), r.GetProperty("Timestamp").GetString());
    }

    [Fact]
    public async Task Ranges_splits_and_history_follow_the_versions()
    {
        var root = await SegAsync();
        await (await _c.PostAsync($"/api/node/{root}/seg/merge", DvidClient.Json(new[] { 1, 2 }))).ExpectAsync(200);
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        var runs = new List<Run>();
        for (int z = 0; z < 32; z++) for (int y = 0; y < 32; y++) runs.Add(new Run(32, y, z, 4)); // part of supervoxel 3
        using var split = JsonDocument.Parse(await (await (await _c.PostAsync($"/api/node/{child}/seg/split-supervoxel/3", new ByteArrayContent(SparseVolume.EncodeRuns(runs)))).ExpectAsync(200)).Content.ReadAsStringAsync());
        ulong splitId = split.RootElement.GetProperty("SplitSupervoxel").GetUInt64(), remainId = split.RootElement.GetProperty("RemainSupervoxel").GetUInt64();
        await (await _c.PostAsync($"/api/node/{child}/seg/merge", DvidClient.Json(new ulong[] { 1, 3 }))).ExpectAsync(200);

        // mutations-range: the child's records first, then the root's.
        using (var range = await _c.GetJsonAsync($"/api/node/{child}/seg/mutations-range/{root}/{child}"))
            Assert.Equal(["split-supervoxel-complete", "merge-complete", "merge-complete"], range.RootElement.EnumerateArray().Select(e => e.GetProperty("Action").GetString()));
        using (var only = await _c.GetJsonAsync($"/api/node/{child}/seg/mutations-range/{child}/{child}"))
            Assert.Equal(2, only.RootElement.GetArrayLength());

        // supervoxel-splits: ["uuid", [[mutid, old, remain, split]]] for versions that split, newest first.
        using (var splits = await _c.GetJsonAsync($"/api/node/{child}/seg/supervoxel-splits"))
        {
            Assert.Equal(2, splits.RootElement.GetArrayLength());
            Assert.Equal(child, splits.RootElement[0].GetString());
            var s = splits.RootElement[1][0].EnumerateArray().Select(e => e.GetUInt64()).ToArray();
            Assert.Equal([split.RootElement.GetProperty("MutationID").GetUInt64(), 3UL, remainId, splitId], s);
        }
        using (var none = await _c.GetJsonAsync($"/api/node/{root}/seg/supervoxel-splits"))
            Assert.Equal(0, none.RootElement.GetArrayLength());

        // history of body 1 from root to child: the split of one of its supervoxels and the merge into it.
        var text = await _c.GetStringAsync($"/api/node/{child}/seg/history/1/{root}/{child}");
        var actions = Regex.Matches(text, "\"Action\":\"([a-z-]+)\"").Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["merge-complete", "split-supervoxel-complete", "merge-complete"], actions);
    }

    [Fact]
    public async Task Keyvalue_writes_and_deletes_are_logged_per_version()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await _c.PutKeyAsync(uuid, "kv", "a", [1, 2, 3]);
        await _c.CommitAsync(uuid);
        var child = await _c.NewVersionAsync(uuid);
        await (await _c.DeleteAsync($"/api/node/{child}/kv/key/a")).ExpectAsync(200);
        using var log = await _c.GetJsonAsync($"/api/node/{child}/kv/mutations");
        var records = log.RootElement.EnumerateArray().ToList();
        Assert.Equal(["postkv", "delete"], records.Select(r => r.GetProperty("Action").GetString()));
        Assert.Equal(3, records[0].GetProperty("Bytes").GetInt32());
        Assert.Equal("a", records[1].GetProperty("Key").GetString());
        using var range = await _c.GetJsonAsync($"/api/node/{child}/kv/mutations-range/{child}/{child}");
        Assert.Equal("delete", range.RootElement.EnumerateArray().Single().GetProperty("Action").GetString());
        using var atRoot = await _c.GetJsonAsync($"/api/node/{uuid}/kv/mutations");
        Assert.Equal(1, atRoot.RootElement.GetArrayLength());
        await (await _c.GetAsync($"/api/node/{child}/kv/mutations-range/{child}/ffffffff")).ExpectErrorAsync(400);
    }
}
