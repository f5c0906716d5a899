using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using Diced.Codecs;
using Diced.Tests.Infrastructure;
using SkiaSharp;

namespace Diced.Tests.Http;

public class ImageblkTests(ServerFixture f) : ImageblkSpec(f.Client), IClassFixture<ServerFixture>;

/// <summary>The same behaviour with the server's store in S3 (Ceph radosgw).</summary>
[Collection(RadosGwCollection.Name)]
public class ImageblkTestsOnS3(RadosGwFixture rgw) : ImageblkSpec(rgw.Server.Client);

/// <summary>The same behaviour with the server's store in GCS (the JSON API stand-in).</summary>
[Collection(GcsCollection.Name)]
public class ImageblkTestsOnGcs(GcsStandIn gcs) : ImageblkSpec(gcs.Server.Client);

/// <summary>What every backend must do; run by <see cref="ImageblkTests"/> and <see cref="ImageblkTestsOnS3"/>.</summary>
public abstract class ImageblkSpec(HttpClient client)
{
    private readonly HttpClient _c = client;

    private async Task<string> RepoWith(string type, string name, object? extra = null)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, type, name, extra);
        return uuid;
    }

    private static byte[] Pattern(int count, int bpv, int seed)
    {
        var data = new byte[count * bpv];
        new Random(seed).NextBytes(data);
        return data;
    }

    private async Task Post(string uuid, string name, string size, string offset, byte[] body, int status = 200)
        => await (await _c.PostAsync($"/api/node/{uuid}/{name}/raw/0_1_2/{size}/{offset}?u=&app=", new ByteArrayContent(body))).ExpectAsync(status);

    private async Task<byte[]> Get(string uuid, string name, string size, string offset, string query = "")
    {
        var r = await (await _c.GetAsync($"/api/node/{uuid}/{name}/raw/0_1_2/{size}/{offset}{query}")).ExpectAsync(200);
        return await r.Content.ReadAsByteArrayAsync();
    }

    [Fact]
    public async Task Info_reports_settings_and_null_extents_before_any_write()
    {
        var uuid = await RepoWith("uint16blk", "em", new { BlockSize = "32,16,8", VoxelSize = "4,4,40", VoxelUnits = "nanometers", Background = "7" });
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/em/info");
        var ext = doc.RootElement.GetProperty("Extended");
        Assert.Equal("uint16", ext.GetProperty("Values")[0].GetProperty("DataType").GetString());
        Assert.Equal("[32,16,8]", ext.GetProperty("BlockSize").GetRawText());
        Assert.Equal("[4,4,40]", ext.GetProperty("VoxelSize").GetRawText());
        Assert.Equal(JsonValueKind.Null, ext.GetProperty("MinPoint").ValueKind);
        Assert.Equal(JsonValueKind.Null, ext.GetProperty("MaxPoint").ValueKind);
        Assert.Equal(7, ext.GetProperty("Background").GetInt32());
        Assert.True(ext.GetProperty("Interpolable").GetBoolean());
        Assert.Equal("github.com/janelia-flyem/dvid/datatype/imageblk/uint16.go", doc.RootElement.GetProperty("Base").GetProperty("TypeURL").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("Extents").GetProperty("MinPoint").ValueKind);
    }

    [Fact]
    public async Task Default_block_size_is_64_cubed()
    {
        var uuid = await RepoWith("uint8blk", "g");
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/g/info");
        Assert.Equal("[64,64,64]", doc.RootElement.GetProperty("Extended").GetProperty("BlockSize").GetRawText());
    }

    [Theory]
    [InlineData("uint8blk", 1)]
    [InlineData("uint16blk", 2)]
    [InlineData("uint32blk", 4)]
    [InlineData("uint64blk", 8)]
    [InlineData("float32blk", 4)]
    public async Task Raw_round_trips_at_any_alignment_and_negative_offsets(string type, int bpv)
    {
        var uuid = await RepoWith(type, "v", new { BlockSize = "16,16,16" });
        var data = Pattern(37 * 21 * 19, bpv, 3);
        await Post(uuid, "v", "37_21_19", "-5_-20_7", data);
        Assert.Equal(data, await Get(uuid, "v", "37_21_19", "-5_-20_7"));
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/v/info");
        var ext = doc.RootElement.GetProperty("Extended");
        Assert.Equal("[-16,-32,0]", ext.GetProperty("MinPoint").GetRawText()); // block-aligned voxel bounds
        Assert.Equal("[31,15,31]", ext.GetProperty("MaxPoint").GetRawText());
        Assert.Equal("[-1,-2,0]", ext.GetProperty("MinIndex").GetRawText());
        Assert.Equal("[1,0,1]", ext.GetProperty("MaxIndex").GetRawText());
    }

    [Fact]
    public async Task Random_overlapping_writes_match_a_voxel_model()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "8,8,8" });
        const int N = 40, O = -10; // model covers [-10, 30)^3
        var model = new byte[N * N * N];
        var rng = new Random(11);
        for (int i = 0; i < 25; i++)
        {
            var size = new[] { rng.Next(1, 20), rng.Next(1, 20), rng.Next(1, 20) };
            var off = new[] { rng.Next(0, N - size[0]), rng.Next(0, N - size[1]), rng.Next(0, N - size[2]) };
            var data = Pattern(size[0] * size[1] * size[2], 1, i);
            await Post(uuid, "v", $"{size[0]}_{size[1]}_{size[2]}", $"{off[0] + O}_{off[1] + O}_{off[2] + O}", data);
            int k = 0;
            for (int z = 0; z < size[2]; z++)
                for (int y = 0; y < size[1]; y++)
                    for (int x = 0; x < size[0]; x++)
                        model[((off[2] + z) * N + off[1] + y) * N + off[0] + x] = data[k++];
        }
        Assert.Equal(model, await Get(uuid, "v", $"{N}_{N}_{N}", $"{O}_{O}_{O}"));
        // A box reaching past everything written reads zeros there.
        var wider = await Get(uuid, "v", "50_1_1", $"{O}_{O}_{O}");
        Assert.Equal(model.AsSpan(0, N).ToArray(), wider[..N]);
        Assert.All(wider[N..], b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Lz4_bodies_on_get_and_post()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "16,16,16" });
        var data = Pattern(20 * 20 * 20, 1, 5);
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/20_20_20/3_3_3?compression=lz4", new ByteArrayContent(Lz4Block.Encode(data)))).ExpectAsync(200);
        var packed = await Get(uuid, "v", "20_20_20", "3_3_3", "?compression=lz4");
        var unpacked = new byte[data.Length];
        Lz4Block.Decode(packed, unpacked);
        Assert.Equal(data, unpacked);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public async Task Every_lossless_codec_round_trips(string compression)
    {
        var uuid = await RepoWith("uint32blk", "v", new { BlockSize = "16,16,16", Compression = compression });
        var data = Pattern(30 * 17 * 9, 4, 9);
        await Post(uuid, "v", "30_17_9", "1_2_3", data);
        Assert.Equal(data, await Get(uuid, "v", "30_17_9", "1_2_3"));
    }

    [Fact]
    public async Task Jpeg_instances_store_lossy_uint8_and_serve_jpeg_blocks()
    {
        var uuid = await RepoWith("uint8blk", "j", new { BlockSize = "32,32,32", Compression = "jpeg:90" });
        var data = new byte[64 * 64 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(100 + 50 * Math.Sin(i % 64 / 10.0));
        await Post(uuid, "j", "64_64_32", "0_0_0", data);
        var back = await Get(uuid, "j", "64_64_32", "0_0_0");
        Assert.True(data.Zip(back).Average(p => Math.Abs(p.First - p.Second)) < 4, "JPEG error should be small");
        var stream = await (await (await _c.GetAsync($"/api/node/{uuid}/j/subvolblocks/64_64_32/0_0_0")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var blocks = ParseFramed(stream);
        Assert.Equal(4, blocks.Count);
        using var img = SKBitmap.Decode(blocks[0].Payload);
        Assert.Equal(32, img.Width);
        Assert.Equal(32 * 32, img.Height);
        await (await _c.GetAsync($"/api/node/{uuid}/j/subvolblocks/64_64_32/0_0_0?compression=jpeg")).ExpectAsync(200);
    }

    [Fact]
    public async Task Anisotropic_blocks_used_by_diced_for_2d_and_1d_arrays()
    {
        var uuid = await RepoWith("uint8blk", "img", new { BlockSize = "512,512,1" });
        await _c.CreateInstanceAsync(uuid, "uint16blk", "line", new { BlockSize = "262144,1,1" });
        var plane = Pattern(600 * 3, 1, 1);
        await Post(uuid, "img", "600_3_1", "100_510_0", plane);
        Assert.Equal(plane, await Get(uuid, "img", "600_3_1", "100_510_0"));
        var line = Pattern(1000, 2, 2);
        await Post(uuid, "line", "1000_1_1", "262000_0_0", line);
        Assert.Equal(line, await Get(uuid, "line", "1000_1_1", "262000_0_0"));
    }

    [Fact]
    public async Task Slices_come_as_png_jpeg_or_binary_for_each_plane()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "8,8,8" });
        var data = Pattern(10 * 11 * 12, 1, 4);
        await Post(uuid, "v", "10_11_12", "0_0_0", data);
        byte At(int x, int y, int z) => data[(z * 11 + y) * 10 + x];
        var xy = await (await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1/10_11/0_0_5")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        using (var png = SKBitmap.Decode(xy))
        {
            Assert.Equal((10, 11), (png.Width, png.Height));
            Assert.Equal(At(3, 4, 5), png.GetPixel(3, 4).Red);
        }
        var xz = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/xz/10_12/0_7_0/png")).Content.ReadAsByteArrayAsync();
        using (var png = SKBitmap.Decode(xz)) Assert.Equal(At(6, 7, 9), png.GetPixel(6, 9).Red);
        var yz = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/1_2/11_12/2_0_0/binary")).Content.ReadAsByteArrayAsync();
        Assert.Equal(At(2, 8, 10), yz[10 * 11 + 8]);
        var jpg = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1/10_11/0_0_5/jpg:95")).ExpectAsync(200);
        Assert.Equal("image/jpeg", jpg.Content.Headers.ContentType!.MediaType);
        await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1/10_11/0_0_5/gif")).ExpectErrorAsync(400, "Illegal image format");
        await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1/10_11/0_0_5/jpg:abc")).ExpectErrorAsync(400);
    }

    [Fact]
    public async Task Uint16_png_slices_are_16_bit_big_endian()
    {
        var uuid = await RepoWith("uint16blk", "v", new { BlockSize = "8,8,8" });
        var data = new byte[4 * 4 * 2];
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * 5), 0x1234);
        await Post(uuid, "v", "4_4_1", "0_0_0", data);
        var png = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/xy/4_4/0_0_0")).Content.ReadAsByteArrayAsync();
        Assert.Equal(16, png[24]); // IHDR bit depth
        Assert.Equal(0, png[25]);  // grayscale
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal(4, bmp.Width);
    }

    [Fact]
    public async Task Volume_get_ending_in_jpeg_is_one_image_of_height_y_times_z()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "16,16,16" });
        await Post(uuid, "v", "16_16_16", "0_0_0", Pattern(16 * 16 * 16, 1, 6));
        var r = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1_2/16_8_4/0_0_0/jpeg")).ExpectAsync(200);
        Assert.Equal("image/jpeg", r.Content.Headers.ContentType!.MediaType);
        using var img = SKBitmap.Decode(await r.Content.ReadAsByteArrayAsync());
        Assert.Equal((16, 32), (img.Width, img.Height));
        var raw = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1_2/16_8_4/0_0_0/png")).Content.ReadAsByteArrayAsync();
        Assert.Equal(16 * 8 * 4, raw.Length); // any other 8th segment returns raw bytes
    }

    [Fact]
    public async Task Block_spans_fill_missing_blocks_with_background()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "4,4,4", Background = "9" });
        var block = Pattern(64, 1, 1);
        await (await _c.PostAsync($"/api/node/{uuid}/v/blocks/1_0_0/1", new ByteArrayContent(block))).ExpectAsync(200);
        var span = await (await (await _c.GetAsync($"/api/node/{uuid}/v/blocks/0_0_0/3")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        Assert.Equal(3 * 64, span.Length);
        Assert.All(span[..64], b => Assert.Equal(9, b));
        Assert.Equal(block, span[64..128]);
        Assert.Equal(block, await Get(uuid, "v", "4_4_4", "4_0_0")); // raw reads see the block (and zeros elsewhere)
        Assert.All(await Get(uuid, "v", "4_4_4", "0_0_0"), b => Assert.Equal(0, b));
        await (await _c.PostAsync($"/api/node/{uuid}/v/blocks/0_0_0/2", new ByteArrayContent(block))).ExpectErrorAsync(400, "expected 2 blocks");
    }

    private static List<(int X, int Y, int Z, byte[] Payload)> ParseFramed(byte[] stream)
    {
        var list = new List<(int, int, int, byte[])>();
        for (int i = 0; i < stream.Length;)
        {
            int x = BitConverter.ToInt32(stream, i), y = BitConverter.ToInt32(stream, i + 4), z = BitConverter.ToInt32(stream, i + 8), n = BitConverter.ToInt32(stream, i + 12);
            list.Add((x, y, z, stream[(i + 16)..(i + 16 + n)]));
            i += 16 + n;
        }
        return list;
    }

    [Fact]
    public async Task Subvolblocks_and_specificblocks_stream_framed_stored_blocks()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "8,8,8" });
        var data = Pattern(16 * 8 * 16, 1, 8);
        await Post(uuid, "v", "16_8_16", "8_0_0", data); // blocks x 1..2, y 0, z 0..1
        var stream = await (await (await _c.GetAsync($"/api/node/{uuid}/v/subvolblocks/32_8_16/0_0_0")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        var blocks = ParseFramed(stream);
        Assert.Equal([(1, 0, 0), (2, 0, 0), (1, 0, 1), (2, 0, 1)], blocks.Select(b => (b.X, b.Y, b.Z)).ToArray()); // z, y, x order; missing omitted
        // Default payload of an LZ4 instance: uint32 length + raw LZ4 block.
        var first = blocks[0].Payload;
        Assert.Equal(512, BitConverter.ToInt32(first, 0));
        var decoded = new byte[512];
        Lz4Block.Decode(first.AsSpan(4), decoded);
        Assert.Equal(data[0], decoded[0]);
        var raw = ParseFramed(await (await _c.GetAsync($"/api/node/{uuid}/v/subvolblocks/32_8_16/0_0_0?compression=uncompressed")).Content.ReadAsByteArrayAsync());
        Assert.Equal(decoded, raw[0].Payload);
        await (await _c.GetAsync($"/api/node/{uuid}/v/subvolblocks/32_8_16/0_0_0?compression=jpeg")).ExpectErrorAsync(400, "not stored as JPEG");
        await (await _c.GetAsync($"/api/node/{uuid}/v/subvolblocks/32_8_16/0_0_0?compression=bzip")).ExpectErrorAsync(400, "don't understand");
        await (await _c.GetAsync($"/api/node/{uuid}/v/subvolblocks/30_8_16/0_0_0")).ExpectErrorAsync(400, "block-aligned");

        var specific = ParseFramed(await (await (await _c.GetAsync($"/api/node/{uuid}/v/specificblocks?blocks=2,0,1,5,5,5,1,0,0&compression=uncompressed")).ExpectAsync(200)).Content.ReadAsByteArrayAsync());
        Assert.Equal(2, specific.Count);
        Assert.Contains(specific, b => (b.X, b.Y, b.Z) == (2, 0, 1));
        Assert.Empty(await (await (await _c.GetAsync($"/api/node/{uuid}/v/specificblocks?blocks=")).ExpectAsync(200)).Content.ReadAsByteArrayAsync());
        Assert.Empty(await (await (await _c.GetAsync($"/api/node/{uuid}/v/specificblocks?blocks=1,0,0&prefetch=on")).ExpectAsync(200)).Content.ReadAsByteArrayAsync());
        await (await _c.GetAsync($"/api/node/{uuid}/v/specificblocks?blocks=1,0")).ExpectErrorAsync(400, "triples");
    }

    [Fact]
    public async Task Metadata_extents_and_resolution()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "8,8,8" });
        await Post(uuid, "v", "8_8_8", "8_16_24", Pattern(512, 1, 1));
        var r = await (await _c.GetAsync($"/api/node/{uuid}/v/metadata")).ExpectAsync(200);
        Assert.Equal("application/vnd.dvid-nd-data+json", r.Content.Headers.ContentType!.MediaType);
        using (var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync()))
        {
            var x = doc.RootElement.GetProperty("Axes")[0];
            Assert.Equal(8, x.GetProperty("Size").GetInt32());
            Assert.Equal(8, x.GetProperty("Offset").GetInt32());
            Assert.Equal(24, doc.RootElement.GetProperty("Axes")[2].GetProperty("Offset").GetInt32());
        }
        await (await _c.PostAsync($"/api/node/{uuid}/v/extents", DvidClient.Json(new { MinPoint = new[] { -100, 0, 0 }, MaxPoint = new[] { 99, 199, 299 } }))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/v/resolution", DvidClient.Text("[4, 4.5, 40]"))).ExpectAsync(200);
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/v/info");
        var ext = info.RootElement.GetProperty("Extended");
        Assert.Equal("[-100,0,0]", ext.GetProperty("MinPoint").GetRawText());
        Assert.Equal("[99,199,299]", ext.GetProperty("MaxPoint").GetRawText());
        Assert.Equal("[4,4.5,40]", ext.GetProperty("VoxelSize").GetRawText());
        await (await _c.PostAsync($"/api/node/{uuid}/v/extents", DvidClient.Json(new { MinPoint = new[] { 1, 2 } }))).ExpectErrorAsync(400);
        await (await _c.PostAsync($"/api/node/{uuid}/v/resolution", DvidClient.Text("[4, -1, 40]"))).ExpectErrorAsync(400);
    }

    [Fact]
    public async Task Children_see_parent_voxels_and_locked_nodes_refuse_writes()
    {
        var root = await RepoWith("uint8blk", "v", new { BlockSize = "8,8,8" });
        var a = Pattern(16 * 16 * 16, 1, 1);
        await Post(root, "v", "16_16_16", "0_0_0", a);
        await _c.CommitAsync(root);
        await Post(root, "v", "16_16_16", "0_0_0", Pattern(16 * 16 * 16, 1, 2), 400);
        var child = await _c.NewVersionAsync(root);
        Assert.Equal(a, await Get(child, "v", "16_16_16", "0_0_0"));
        var patch = Pattern(4 * 4 * 4, 1, 3);
        await Post(child, "v", "4_4_4", "2_2_2", patch);
        Assert.Equal(a, await Get(root, "v", "16_16_16", "0_0_0"));
        var childView = await Get(child, "v", "16_16_16", "0_0_0");
        Assert.Equal(patch[0], childView[(2 * 16 + 2) * 16 + 2]);
        Assert.Equal(a[0], childView[0]); // the rest of the block is the parent's
    }

    [Fact]
    public async Task Concurrent_writers_to_disjoint_voxels_of_the_same_blocks_all_keep_their_voxels()
    {
        var uuid = await RepoWith("uint8blk", "v", new { BlockSize = "64,64,64" });
        const int writers = 16, rounds = 15; // values i + 1 + 16·round stay distinct bytes
        // Each writer owns one x-plane (x = i) of two blocks stacked along y, and rewrites it again and again,
        // so every write is a read-modify-write racing with the others on the same two blocks.
        var tasks = Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            for (int round = 0; round < rounds; round++)
            {
                var body = Enumerable.Repeat((byte)(i + 1 + round * writers), 1 * 128 * 64).ToArray();
                var r = await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/1_128_64/{i}_0_0", new ByteArrayContent(body));
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var all = await Get(uuid, "v", $"{writers}_128_64", "0_0_0");
        for (int z = 0; z < 64; z++)
            for (int y = 0; y < 128; y++)
                for (int x = 0; x < writers; x++)
                    Assert.Equal(x + 1 + (rounds - 1) * writers, all[(z * 128 + y) * writers + x]);
    }
}
