using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>DVID's label listing routes (issue 13): listlabels, existing-labels, map-stats, sparsevols-coarse,
/// index-version, indices-compressed.</summary>
public class LabelListingTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A labelmap with labels 1..4 in x-slabs of 16 voxels of a 64x32x32 volume (two blocks of 32³).</summary>
    private async Task<string> SegAsync(string type = "labelmap")
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, type, "seg", new { BlockSize = "32,32,32" });
        var labels = new ulong[64 * 32 * 32];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i % 64 / 16);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_32_32/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        return uuid;
    }

    [Fact]
    public async Task Labels_are_listed_with_their_sizes()
    {
        var uuid = await SegAsync();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Json(new[] { 1, 2 }))).ExpectAsync(200);
        var plain = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/listlabels");
        Assert.Equal([1UL, 3UL, 4UL], MemoryMarshal.Cast<byte, ulong>(plain).ToArray());
        var sized = MemoryMarshal.Cast<byte, ulong>(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/listlabels?start=2&number=1&sizes=true")).ToArray();
        Assert.Equal([3UL, 16UL * 32 * 32], sized);
        Assert.Equal("[1,3,4]", await _c.GetStringAsync($"/api/node/{uuid}/seg/existing-labels"));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/listlabels?number=x")).ExpectErrorAsync(400, "number");
        await _c.GetStringAsync($"/api/node/{uuid}/seg/mappings"); // loads and caches the mapping
        using var stats = await _c.GetJsonAsync($"/api/node/{uuid}/seg/map-stats");
        Assert.Equal(1, stats.RootElement.GetProperty("seg").GetProperty("MapEntries").GetInt64());
    }

    [Theory]
    [InlineData("labelmap")]
    [InlineData("labelarray")]
    public async Task Coarse_volumes_of_a_range_of_labels(string type)
    {
        var uuid = await SegAsync(type);
        var bytes = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevols-coarse/2/3");
        // Label 2 lies in block (0,0,0), label 3 in block (1,0,0): one run of one block each.
        Assert.Equal(2 * (12 + 16), bytes.Length);
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal([0, 0, 0, 1], Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12 + 4 * i))));
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(28)));
        Assert.Equal([1, 0, 0, 1], Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(40 + 4 * i))));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevols-coarse/3/2")).ExpectErrorAsync(400, "start <= end");
    }

    [Fact]
    public async Task Index_version_names_the_version_that_stored_the_index()
    {
        var root = await SegAsync();
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        await (await _c.PostAsync($"/api/node/{child}/seg/merge", DvidClient.Json(new[] { 1, 2 }))).ExpectAsync(200);
        Assert.Equal(child, await _c.GetStringAsync($"/api/node/{child}/seg/index-version/1"));
        Assert.Equal(root, await _c.GetStringAsync($"/api/node/{child}/seg/index-version/3"));
        await (await _c.GetAsync($"/api/node/{child}/seg/index-version/2")).ExpectErrorAsync(404);
    }

    [Fact]
    public async Task Compressed_indices_are_dvids_stored_bytes()
    {
        var uuid = await SegAsync();
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/seg/indices-compressed") { Content = DvidClient.Json(new[] { 3, 99 }) };
        var bytes = await (await (await _c.SendAsync(req)).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8)));
        var stored = bytes.AsSpan(16, n);
        Assert.Equal(0x80, stored[0]); // DVID's envelope: LZ4, no checksum
        var index = Diced.Server.Wire.LabelMessages.DecodeIndex(ValueEnvelope.Decode(stored));
        Assert.Equal(3UL, index.Label);
        Assert.Equal(16UL * 32 * 32, index.VoxelCount);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16 + n))); // label 99: N = 0
        Assert.Equal(99UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24 + n)));
        Assert.Equal(32 + n, bytes.Length);
    }
}
