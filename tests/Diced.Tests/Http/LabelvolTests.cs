using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs.SparseVolumes;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>labelvol synced with a labelblk (issue 13; libdvid's test_labels_3d_volsync, NeuTu's body volumes).</summary>
public class LabelvolTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    private static byte[] Bytes(ulong[] labels) => MemoryMarshal.AsBytes(labels.AsSpan()).ToArray();

    /// <summary>libdvid's create_labelblk(name, labelvol): both instances, then a sync each way.</summary>
    private async Task<string> SyncedPairAsync(string uuid)
    {
        await _c.CreateInstanceAsync(uuid, "labelblk", "labels", new { BlockSize = "32,32,32" });
        await _c.CreateInstanceAsync(uuid, "labelvol", "bodies", new { BlockSize = "32,32,32" });
        await (await _c.PostAsync($"/api/node/{uuid}/bodies/sync", DvidClient.Json(new { sync = "labels" }))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/labels/sync", DvidClient.Json(new { sync = "bodies" }))).ExpectAsync(200);
        return uuid;
    }

    /// <summary>64³ voxels: label 5 for x &lt; 20, 6 for 20 ≤ x &lt; 40, 7 beyond.</summary>
    private static ulong[] Slabs()
    {
        var v = new ulong[64 * 64 * 64];
        for (int i = 0; i < v.Length; i++) v[i] = (i % 64) switch { < 20 => 5UL, < 40 => 6UL, _ => 7UL };
        return v;
    }

    private static List<Run> Runs(byte[] sparsevol)
    {
        int n = BinaryPrimitives.ReadInt32LittleEndian(sparsevol.AsSpan(8));
        return Enumerable.Range(0, n).Select(i =>
        {
            var s = sparsevol.AsSpan(12 + 16 * i);
            return new Run(BinaryPrimitives.ReadInt32LittleEndian(s), BinaryPrimitives.ReadInt32LittleEndian(s[4..]),
                BinaryPrimitives.ReadInt32LittleEndian(s[8..]), BinaryPrimitives.ReadInt32LittleEndian(s[12..]));
        }).ToList();
    }

    /// <summary>The (x, y, z) voxels of <paramref name="label"/> in a 64³ volume.</summary>
    private static HashSet<(int, int, int)> Voxels(ulong[] volume, ulong label)
        => Enumerable.Range(0, volume.Length).Where(i => volume[i] == label).Select(i => (i % 64, i / 64 % 64, i / 4096)).ToHashSet();

    private static HashSet<(int, int, int)> Covered(List<Run> runs)
        => runs.SelectMany(r => Enumerable.Range(r.X, r.Length).Select(x => (x, r.Y, r.Z))).ToHashSet();

    private async Task<ulong[]> RawAsync(string uuid) => MemoryMarshal.Cast<byte, ulong>(
        await _c.GetByteArrayAsync($"/api/node/{uuid}/labels/raw/0_1_2/64_64_64/0_0_0")).ToArray();

    [Fact]
    public async Task A_synced_labelvol_gives_the_sparse_volumes_of_the_labelblk()
    {
        var uuid = await SyncedPairAsync(await _c.CreateRepoAsync());
        var voxels = Slabs();
        await (await _c.PostAsync($"/api/node/{uuid}/labels/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Bytes(voxels)))).ExpectAsync(200);
        Assert.Equal(voxels, await RawAsync(uuid));
        // Label 6: x 20-39 of every (y, z) row (runs end at block faces).
        var runs = Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol/6"));
        Assert.Equal(Voxels(voxels, 6), Covered(runs));
        Assert.Equal(runs, Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol-by-point/25_3_4")));
        await (await _c.GetAsync($"/api/node/{uuid}/bodies/sparsevol/99")).ExpectAsync(404);
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/bodies/sparsevol/6"))
            Assert.Equal(200, (int)(await _c.SendAsync(head)).StatusCode);
        // Coarse: label 5 lies in the x = 0 blocks, 2 × 2 of them.
        var coarse = Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol-coarse/5"));
        Assert.Equal(4, coarse.Count);
        Assert.All(coarse, r => Assert.Equal((0, 1), (r.X, r.Length)));
        using (var max = await _c.GetJsonAsync($"/api/node/{uuid}/bodies/maxlabel")) Assert.Equal(7UL, max.RootElement.GetProperty("maxlabel").GetUInt64());
        var reserved = await (await _c.PostAsync($"/api/node/{uuid}/bodies/nextlabel", DvidClient.Json(new { needed = 3 }))).ExpectAsync(200);
        using (var r = JsonDocument.Parse(await reserved.Content.ReadAsStringAsync()))
            Assert.True(r.RootElement.GetProperty("start").GetUInt64() > 7);
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/bodies/info");
        Assert.Equal("labelvol", info.RootElement.GetProperty("Base").GetProperty("TypeName").GetString());
        Assert.Equal(32, info.RootElement.GetProperty("Extended").GetProperty("BlockSize")[0].GetInt32());
    }

    [Fact]
    public async Task Labelvol_merges_and_splits_relabel_the_labelblk_voxels()
    {
        var uuid = await SyncedPairAsync(await _c.CreateRepoAsync());
        var voxels = Slabs();
        await (await _c.PostAsync($"/api/node/{uuid}/labels/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Bytes(voxels)))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/bodies/merge", DvidClient.Text("[5, 6]"))).ExpectAsync(200);
        Assert.Equal(voxels.Select(v => v == 6 ? 5UL : v).ToArray(), await RawAsync(uuid));
        await (await _c.GetAsync($"/api/node/{uuid}/bodies/sparsevol/6")).ExpectAsync(404);
        Assert.Equal(Voxels(await RawAsync(uuid), 5), Covered(Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol/5"))));

        // Split the voxels of 5 in the z = 0 plane into label 100.
        var plane = Enumerable.Range(0, 64).Select(y => new Run(0, y, 0, 64)).ToList();
        var split = await (await _c.PostAsync($"/api/node/{uuid}/bodies/split/5?splitlabel=100", new ByteArrayContent(SparseVolume.EncodeRuns(plane)))).ExpectAsync(200);
        Assert.Equal("{\"label\": 100}", await split.Content.ReadAsStringAsync());
        var after = await RawAsync(uuid);
        Assert.Equal(100UL, after[(0 * 64 + 3) * 64 + 10]);  // z = 0, was 5
        Assert.Equal(5UL, after[(1 * 64 + 3) * 64 + 10]);    // z = 1, still 5
        Assert.Equal(7UL, after[(0 * 64 + 3) * 64 + 50]);    // not label 5: untouched
        Assert.Equal(Voxels(after, 100), Covered(Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol/100"))));

        // Coarse split of label 7's blocks at x = 1 (all of 7) into a new label.
        var coarse = await (await _c.PostAsync($"/api/node/{uuid}/bodies/split-coarse/7",
            new ByteArrayContent(SparseVolume.EncodeRuns([new Run(1, 0, 0, 1), new Run(1, 1, 0, 1), new Run(1, 0, 1, 1), new Run(1, 1, 1, 1)])))).ExpectAsync(200);
        using var doc = JsonDocument.Parse(await coarse.Content.ReadAsStringAsync());
        var newLabel = doc.RootElement.GetProperty("label").GetUInt64();
        Assert.DoesNotContain(7UL, await RawAsync(uuid));
        Assert.Contains(newLabel, await RawAsync(uuid));
    }

    [Fact]
    public async Task Labels_written_before_the_sync_are_indexed_when_it_is_made()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelblk", "labels", new { BlockSize = "32,32,32" });
        await (await _c.PostAsync($"/api/node/{uuid}/labels/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Bytes(Slabs())))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "labelvol", "bodies", new { BlockSize = "32,32,32" });
        // Not synced yet: a clear 400 naming the fix.
        await (await _c.GetAsync($"/api/node/{uuid}/bodies/sparsevol/6")).ExpectErrorAsync(400, "not synced with a labelblk");
        await (await _c.PostAsync($"/api/node/{uuid}/labels/sync", DvidClient.Json(new { sync = "bodies" }))).ExpectAsync(200);
        Assert.Equal(Voxels(Slabs(), 6), Covered(Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol/6"))));
        using var max = await _c.GetJsonAsync($"/api/node/{uuid}/bodies/maxlabel");
        Assert.Equal(7UL, max.RootElement.GetProperty("maxlabel").GetUInt64());
    }

    [Fact]
    public async Task Syncs_are_checked()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelblk", "labels", new { BlockSize = "32,32,32" });
        await _c.CreateInstanceAsync(uuid, "labelvol", "wide", new { BlockSize = "64,64,64" });
        await _c.CreateInstanceAsync(uuid, "uint8blk", "gray");
        await (await _c.PostAsync($"/api/node/{uuid}/wide/sync", DvidClient.Json(new { sync = "labels" }))).ExpectErrorAsync(400, "same block size");
        await (await _c.PostAsync($"/api/node/{uuid}/wide/sync", DvidClient.Json(new { sync = "gray" }))).ExpectErrorAsync(400, "cannot sync with");
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/wide/info");
        Assert.Equal(0, info.RootElement.GetProperty("Base").GetProperty("Syncs").GetArrayLength());
    }

    [Fact]
    public async Task Area_delete_and_resync_keep_voxels_and_index_together()
    {
        var uuid = await SyncedPairAsync(await _c.CreateRepoAsync());
        var voxels = Slabs();
        await (await _c.PostAsync($"/api/node/{uuid}/labels/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Bytes(voxels)))).ExpectAsync(200);
        // Erase label 6 in the box x 0-31 (where it spans x 20-31); 5 there is untouched.
        await (await _c.DeleteAsync($"/api/node/{uuid}/bodies/area/6/32_64_64/0_0_0")).ExpectAsync(200);
        var after = await RawAsync(uuid);
        Assert.Equal(voxels.Select((v, i) => v == 6 && i % 64 < 32 ? 0UL : v).ToArray(), after);
        var runs = Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol/6"));
        Assert.Equal(Voxels(after, 6), Covered(runs));
        // Resync recounts from the voxels: the index agrees already, so nothing changes.
        await (await _c.PostAsync($"/api/node/{uuid}/bodies/resync/6", new ByteArrayContent(SparseVolume.EncodeRuns([new Run(0, 0, 0, 2)])))).ExpectAsync(200);
        Assert.Equal(runs, Runs(await _c.GetByteArrayAsync($"/api/node/{uuid}/bodies/sparsevol/6")));
        await (await _c.DeleteAsync($"/api/node/{uuid}/bodies/area/99/32_64_64/0_0_0")).ExpectErrorAsync(404, "does not exist");
    }
}
