using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs.Images;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Endpoints.Voxels;
using Diced.Storage;
using Diced.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;

namespace Diced.Tests.Http;

/// <summary>Images computed from stored voxels (issue 13): isotropic slices, arbitrary planes, pseudocolour, rawkey.</summary>
public class DerivedImageTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A 32³ uint8 block at the origin whose voxel (x, y, z) holds x + 2y (linear, so interpolation is exact).</summary>
    private async Task<string> LinearGray(object? config = null)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "g", config ?? new { BlockSize = "32,32,32" });
        var voxels = new byte[32 * 32 * 32];
        for (int z = 0; z < 32; z++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) voxels[(z * 32 + y) * 32 + x] = (byte)(x + 2 * y);
        await (await _c.PostAsync($"/api/node/{uuid}/g/raw/0_1_2/32_32_32/0_0_0", new ByteArrayContent(voxels))).ExpectAsync(200);
        return uuid;
    }

    private async Task<SKBitmap> Png(string url)
    {
        var r = await (await _c.GetAsync(url)).ExpectAsync(200);
        Assert.Equal("image/png", r.Content.Headers.ContentType!.MediaType);
        return SKBitmap.Decode(await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Arb_samples_a_plane_in_physical_space_with_trilinear_interpolation()
    {
        var uuid = await LinearGray();
        // Axis-aligned at voxel z = 10 (8 nm voxels): 80 nm / 8 nm res = 10 steps, so 11 × 11 pixels, each a voxel.
        using (var img = await Png($"/api/node/{uuid}/g/arb/0_0_80/80_0_80/0_80_80/8"))
        {
            Assert.Equal((11, 11), (img.Width, img.Height));
            for (int y = 0; y < 11; y++)
                for (int x = 0; x < 11; x++) Assert.Equal(x + 2 * y, img.GetPixel(x, y).Red);
        }
        // Half a voxel along x: the mean of two neighbours, rounded half up as DVID does.
        using (var img = await Png($"/api/node/{uuid}/g/arb/4_0_80/84_0_80/4_80_80/8"))
            for (int y = 0; y < 11; y++) Assert.Equal(2 * y + 1, img.GetPixel(0, y).Red); // 2y + 0.5 rounds up
        // Diagonal in xy: |tr - tl| = 80·√2 nm, 14 whole steps; pixel i sits at voxel (10i/14, 10i/14).
        using (var img = await Png($"/api/node/{uuid}/g/arb/0_0_80/80_80_80/0_0_160/8"))
        {
            Assert.Equal(15, img.Width);
            for (int i = 0; i < 15; i++) Assert.Equal((int)Math.Floor(30.0 * i / 14 + 0.5), img.GetPixel(i, 0).Red);
        }
    }

    [Fact]
    public async Task Arb_reads_unstored_blocks_as_background_and_refuses_what_it_cannot_produce()
    {
        var uuid = await LinearGray(new { BlockSize = "32,32,32", Background = "7" });
        using (var img = await Png($"/api/node/{uuid}/g/arb/0_0_800/80_0_800/0_80_800/8"))
            Assert.Equal(7, img.GetPixel(5, 5).Red);
        await (await _c.GetAsync($"/api/node/{uuid}/g/arb/0_0_0/1e12_0_0/0_1e12_0/1")).ExpectErrorAsync(400, "too large");
        await (await _c.GetAsync($"/api/node/{uuid}/g/arb/0_0_0/80_0_0/0_80_0/-1")).ExpectErrorAsync(400, "positive number");
        await (await _c.GetAsync($"/api/node/{uuid}/g/arb/0_0_0/1e6_0_0/0_1e6_0/8")).ExpectErrorAsync(400, "exceeds");
        await _c.CreateInstanceAsync(uuid, "uint16blk", "w");
        await (await _c.GetAsync($"/api/node/{uuid}/w/arb/0_0_0/80_0_0/0_80_0/8")).ExpectErrorAsync(400, "arbitrary orientation");
    }

    [Fact]
    public async Task Isotropic_slices_shrink_the_coarse_axis_and_stretch_it_back()
    {
        // 8 nm in x and y, 40 nm in z: an xz slice 10 wide and 10 tall reads 2 z-layers (10·8/40) and stretches each
        // over 5 rows; raw reads 10 layers.
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "g", new { BlockSize = "32,32,32", VoxelSize = "8,8,40" });
        var voxels = new byte[32 * 32 * 32];
        for (int z = 0; z < 32; z++) voxels.AsSpan(z * 1024, 1024).Fill((byte)(10 * z));
        await (await _c.PostAsync($"/api/node/{uuid}/g/raw/0_1_2/32_32_32/0_0_0", new ByteArrayContent(voxels))).ExpectAsync(200);
        using (var iso = await Png($"/api/node/{uuid}/g/isotropic/0_2/10_10/0_0_0"))
        {
            Assert.Equal((10, 10), (iso.Width, iso.Height));
            for (int y = 0; y < 10; y++) Assert.Equal(y < 5 ? 0 : 10, iso.GetPixel(3, y).Red);
        }
        using (var raw = await Png($"/api/node/{uuid}/g/raw/0_2/10_10/0_0_0"))
            for (int y = 0; y < 10; y++) Assert.Equal(10 * y, raw.GetPixel(3, y).Red);
        var bytes = await (await (await _c.GetAsync($"/api/node/{uuid}/g/isotropic/0_2/4_4/0_0_1/binary")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        // 4·8/40 = 0.8 → 1 layer (z = 1, value 10) stretched over all 4 rows.
        Assert.All(bytes, b => Assert.Equal(10, b));
        var xy = await (await (await _c.GetAsync($"/api/node/{uuid}/g/isotropic/0_1/4_4/0_0_3/binary")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        Assert.All(xy, b => Assert.Equal(30, b)); // equal x and y sizes: the slice as stored
    }

    [Fact]
    public void Box_filter_averages_as_dvid_does()
    {
        // Two source rows (0 and 100) stretched over three: the middle row takes half of each.
        var src = new byte[] { 0, 100 };
        var dst = IsotropicSlice.Resample(src, 1, 2, VoxelType.Uint8, labels: false, 1, 3);
        Assert.Equal(new byte[] { 0, 50, 100 }, dst);
        // Three rows (0, 10, 20) into two: (2·0 + 1·10) / 3 = 3 (truncated), (1·10 + 2·20) / 3 = 16.
        dst = IsotropicSlice.Resample([0, 10, 20], 1, 3, VoxelType.Uint8, labels: false, 1, 2);
        Assert.Equal(new byte[] { 3, 16 }, dst);
        // Labels never blend.
        var labels = MemoryMarshal.AsBytes(new ulong[] { 5, 9 }.AsSpan()).ToArray();
        dst = IsotropicSlice.Resample(labels, 1, 2, VoxelType.Uint64, labels: true, 1, 3);
        Assert.Equal(new ulong[] { 5, 5, 9 }, MemoryMarshal.Cast<byte, ulong>(dst).ToArray());
    }

    [Fact]
    public async Task Pseudocolor_colours_bodies_by_the_murmur_hash_of_their_label()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[64 * 64 * 64];
        labels.AsSpan().Fill(2);
        labels[0] = 0;
        labels[1] = 1;
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        // DVID's colours for labels 0, 1 and 2 (murmurhash3 of the 8 label bytes, big-endian into R, G, B).
        (byte, byte, byte)[] expected = [(99, 133, 42), (83, 7, 93), (198, 31, 162)];
        using (var img = await Png($"/api/node/{uuid}/seg/pseudocolor/0_1/3_1/0_0_0"))
            for (int x = 0; x < 3; x++)
            {
                var p = img.GetPixel(x, 0);
                Assert.Equal(expected[x], (p.Red, p.Green, p.Blue));
                Assert.Equal(255, p.Alpha);
            }
        // Colours follow bodies: after merging 2 into 1, the third pixel takes 1's colour.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text("[1, 2]"))).ExpectAsync(200);
        using (var img = await Png($"/api/node/{uuid}/seg/pseudocolor/0_1/3_1/0_0_0"))
            Assert.Equal(expected[1], (img.GetPixel(2, 0).Red, img.GetPixel(2, 0).Green, img.GetPixel(2, 0).Blue));
    }

    [Theory]
    [InlineData("labelblk")]
    [InlineData("labelarray")]
    public async Task Pseudocolor_works_for_every_label_type(string type)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, type, "seg", new { BlockSize = "64,64,64" });
        var labels = new ulong[64 * 64 * 64];
        labels[1] = 1;
        labels[2] = 2;
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        using var img = await Png($"/api/node/{uuid}/seg/pseudocolor/0_1/3_1/0_0_0/png");
        for (ulong l = 0; l < 3; l++)
        {
            var p = img.GetPixel((int)l, 0);
            Assert.Equal(Pseudocolor.Of(l), (p.Red, p.Green, p.Blue, p.Alpha));
        }
    }

    [Fact]
    public async Task Label_isotropic_slices_stretch_by_nearest_neighbour()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelblk", "lb", new { BlockSize = "32,32,32", VoxelSize = "8,8,16" });
        var labels = new ulong[32 * 32 * 32];
        for (int z = 0; z < 32; z++) labels.AsSpan(z * 1024, 1024).Fill((ulong)(1000 + z));
        await (await _c.PostAsync($"/api/node/{uuid}/lb/raw/0_1_2/32_32_32/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        // 4 rows at 16 nm read as 2 layers (z = 0, 1), each repeated twice.
        var bytes = await (await (await _c.GetAsync($"/api/node/{uuid}/lb/isotropic/0_2/2_4/0_0_0/binary")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var got = MemoryMarshal.Cast<byte, ulong>(bytes).ToArray();
        Assert.Equal(new ulong[] { 1000, 1000, 1000, 1000, 1001, 1001, 1001, 1001 }, got);
    }

    [Fact]
    public async Task Rawkey_names_the_stored_key_of_a_block()
    {
        var uuid = await LinearGray();
        var store = f.Factory.Services.GetRequiredService<IKeyValueStore>();
        async Task<byte[]> KeyOf(int x, int y, int z)
        {
            using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/g/rawkey?x={x}&y={y}&z={z}");
            return Convert.FromHexString(doc.RootElement.GetProperty("Key").GetString()!);
        }
        Assert.NotNull(await store.GetAsync(await KeyOf(0, 0, 0)));  // the block written above
        Assert.Null(await store.GetAsync(await KeyOf(0, 0, 1)));     // a block never written
        Assert.NotEqual(await KeyOf(0, 0, 1), await KeyOf(0, 1, 0));
    }
}

public class PseudocolorTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("hello", 0x248bfa47u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x2e4ff723u)]
    public void Murmur3_matches_the_reference_vectors(string text, uint hash)
        => Assert.Equal(hash, Pseudocolor.Murmur3(System.Text.Encoding.ASCII.GetBytes(text)));
}
