using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs.SparseVolumes;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>labelmap's proximity and fvdb, labelarray's split-coarse (issue 13).</summary>
public class LabelGeometryTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A 128×64×64 volume in two 64³ blocks, each voxel labelled by <paramref name="labelAt"/>(x).</summary>
    private async Task<string> VolumeAsync(string type, Func<int, ulong> labelAt)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, type, "seg");
        var labels = new ulong[128 * 64 * 64];
        for (int i = 0; i < labels.Length; i++) labels[i] = labelAt(i % 128);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        return uuid;
    }

    [Fact]
    public async Task Proximity_gives_the_least_distance_per_shared_block()
    {
        // Block 0: label 1 at x < 10, label 2 from x = 13 (4 voxels apart). Block 1: label 1 at x 64-65, label 3 from x = 71.
        var uuid = await VolumeAsync("labelmap", x => x switch { < 10 => 1, < 13 => 0, < 64 => 2, < 66 => 1, < 71 => 0, _ => 3 });
        Assert.Equal("""[{"Block":[0,0,0],"Distance":4}]""", await _c.GetStringAsync($"/api/node/{uuid}/seg/proximity/1,2"));
        Assert.Equal("""[{"Block":[0,0,0],"Label":2,"Distance":4},{"Block":[1,0,0],"Label":3,"Distance":6}]""",
            await _c.GetStringAsync($"/api/node/{uuid}/seg/proximity/1,2,3"));
        // Bodies, not supervoxels: once 3 is merged into 2, label 2 is near label 1 in both blocks.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text("[2, 3]"))).ExpectAsync(200);
        Assert.Equal("""[{"Block":[0,0,0],"Distance":4},{"Block":[1,0,0],"Distance":6}]""", await _c.GetStringAsync($"/api/node/{uuid}/seg/proximity/1,2"));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/proximity/1,99")).ExpectErrorAsync(404, "does not exist");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/proximity/1")).ExpectErrorAsync(400, "at least one other");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/proximity/1,1")).ExpectErrorAsync(400, "target label");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/proximity/1,0")).ExpectErrorAsync(400, "protected");
    }

    [Fact]
    public void Distance_transform_is_exact()
    {
        // One seed in a 7×5×3 grid: every squared distance is the sum of squared offsets.
        var d2 = Diced.Datastore.Types.Labels.DistanceTransform.SquaredToNearest(7, 5, 3, i => i == (1 * 5 + 2) * 7 + 3);
        for (int z = 0; z < 3; z++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 7; x++)
                    Assert.Equal((x - 3) * (x - 3) + (y - 2) * (y - 2) + (z - 1) * (z - 1), d2[(z * 5 + y) * 7 + x]);
        Assert.All(Diced.Datastore.Types.Labels.DistanceTransform.SquaredToNearest(2, 2, 2, _ => false), v => Assert.True(double.IsPositiveInfinity(v)));
    }

    [Fact]
    public async Task Fvdb_is_refused_with_a_clear_message()
    {
        var uuid = await VolumeAsync("labelmap", x => 1);
        await (await _c.GetAsync($"/api/node/{uuid}/seg/fvdb/1")).ExpectErrorAsync(400, "NanoVDB");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/fvdb/x")).ExpectErrorAsync(400, "not a non-negative");
    }

    [Fact]
    public async Task Split_coarse_moves_a_labels_voxels_in_the_given_blocks()
    {
        // Label 7 fills both blocks but for x 0-9 of block 0, which is label 8.
        var uuid = await VolumeAsync("labelarray", x => x < 10 ? 8UL : 7UL);
        var body = SparseVolume.EncodeRuns([new Run(1, 0, 0, 1)]);
        var r = await (await _c.PostAsync($"/api/node/{uuid}/seg/split-coarse/7", new ByteArrayContent(body))).ExpectAsync(200);
        using var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var newLabel = json.RootElement.GetProperty("label").GetUInt64();
        Assert.NotEqual(7UL, newLabel);
        Assert.Equal(newLabel.ToString(), await LabelAt(uuid, 100, 5, 5));
        Assert.Equal("7", await LabelAt(uuid, 20, 5, 5));
        Assert.Equal("8", await LabelAt(uuid, 5, 5, 5));
        Assert.Equal(54 * 64 * 64, await VoxelsAsync(uuid, 7));
        Assert.Equal(64 * 64 * 64, await VoxelsAsync(uuid, newLabel));

        // Into a given label, which raises the max label; a run that misses the label changes nothing.
        var again = await (await _c.PostAsync($"/api/node/{uuid}/seg/split-coarse/7?splitlabel=500", new ByteArrayContent(SparseVolume.EncodeRuns([new Run(0, 0, 0, 1)])))).ExpectAsync(200);
        Assert.Equal("{\"label\": 500}", await again.Content.ReadAsStringAsync());
        Assert.Equal("500", await LabelAt(uuid, 20, 5, 5));
        using (var max = await _c.GetJsonAsync($"/api/node/{uuid}/seg/maxlabel")) Assert.True(max.RootElement.GetProperty("maxlabel").GetUInt64() >= 500);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-coarse/8", new ByteArrayContent(SparseVolume.EncodeRuns([new Run(5, 5, 5, 2)])))).ExpectErrorAsync(400, "does not overlap");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-coarse/8", new ByteArrayContent([0, 3]))).ExpectErrorAsync(400, "");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-coarse/8?splitlabel=8", new ByteArrayContent(body))).ExpectErrorAsync(400, "label itself");
        Assert.Equal("8", await LabelAt(uuid, 5, 5, 5));
    }

    [Fact]
    public async Task Labelarray_split_relabels_the_voxels_inside_the_sparse_volume()
    {
        var uuid = await VolumeAsync("labelarray", x => x < 10 ? 8UL : 7UL);
        // The z = 0 plane of label 7 (and of 8, which the split must leave alone).
        var plane = Enumerable.Range(0, 64).Select(y => new Run(0, y, 0, 128)).ToList();
        var r = await (await _c.PostAsync($"/api/node/{uuid}/seg/split/7", new ByteArrayContent(SparseVolume.EncodeRuns(plane)))).ExpectAsync(200);
        using var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var newLabel = json.RootElement.GetProperty("label").GetUInt64();
        Assert.Equal(newLabel.ToString(), await LabelAt(uuid, 50, 5, 0));
        Assert.Equal("7", await LabelAt(uuid, 50, 5, 1));
        Assert.Equal("8", await LabelAt(uuid, 5, 5, 0));
        Assert.Equal(118 * 64, await VoxelsAsync(uuid, newLabel));
        Assert.Equal(118 * 64 * 63, await VoxelsAsync(uuid, 7));
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split/7", new ByteArrayContent(SparseVolume.EncodeRuns([new Run(500, 500, 500, 3)])))).ExpectErrorAsync(400, "does not overlap");
    }

    private async Task<long> VoxelsAsync(string uuid, ulong label)
    {
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/seg/sparsevol-size/{label}");
        return doc.RootElement.GetProperty("voxels").GetInt64();
    }

    private async Task<string> LabelAt(string uuid, int x, int y, int z)
    {
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/seg/label/{x}_{y}_{z}");
        return doc.RootElement.GetProperty("Label").GetUInt64().ToString();
    }
}
