using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs;
using Diced.Codecs.BlockStreams;
using Diced.Codecs.Labels;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Differences from DVID that real clients ran into (issue 13), one test each.</summary>
public class ClientDifferencesTests(LiveServerFixture f) : IClassFixture<LiveServerFixture>
{
    private readonly HttpClient _c = f.Server.Client;

    [Fact]
    public async Task Server_info_reports_a_version_dvid_clients_parse()
    {
        using var info = await _c.GetJsonAsync("/api/server/info");
        var version = info.RootElement.GetProperty("DVID Version").GetString()!;
        // neuclease: assert startswith('v'); parts = re.split('[.-]', v[1:])[:4]; tuple(int(p) for p in parts)
        Assert.StartsWith("v", version);
        var parts = System.Text.RegularExpressions.Regex.Split(version[1..], "[.-]").Take(4).Select(int.Parse).ToArray();
        Assert.True(parts.Length >= 3);
        Assert.Equal(version[1..], info.RootElement.GetProperty("Diced Version").GetString());
    }

    [Fact]
    public async Task Reserving_labels_raises_the_max_label_to_the_end_of_the_range()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        using var r = JsonDocument.Parse(await (await (await _c.PostAsync($"/api/node/{uuid}/seg/nextlabel/10", new ByteArrayContent([]))).ExpectAsync(200)).Content.ReadAsStringAsync());
        var end = r.RootElement.GetProperty("end").GetUInt64();
        using var max = await _c.GetJsonAsync($"/api/node/{uuid}/seg/maxlabel");
        Assert.Equal(end, max.RootElement.GetProperty("maxlabel").GetUInt64());
        // labelarray reserves with a JSON body.
        await _c.CreateInstanceAsync(uuid, "labelarray", "arr");
        using var a = JsonDocument.Parse(await (await (await _c.PostAsync($"/api/node/{uuid}/arr/nextlabel", DvidClient.Json(new { needed = 5 }))).ExpectAsync(200)).Content.ReadAsStringAsync());
        Assert.Equal(4UL, a.RootElement.GetProperty("end").GetUInt64() - a.RootElement.GetProperty("start").GetUInt64());
        await (await _c.PostAsync($"/api/node/{uuid}/arr/nextlabel", DvidClient.Json(new { other = 5 }))).ExpectErrorAsync(400, "needed");
    }

    [Fact]
    public async Task Max_label_and_next_label_can_be_set_by_an_admin()
    {
        await using var server = await LiveServer.StartAsync(null, "--Diced:AdminToken", "tok");
        var c = server.Client;
        var uuid = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(uuid, "labelmap", "seg");
        await (await c.PostAsync($"/api/node/{uuid}/seg/maxlabel/500", new ByteArrayContent([]))).ExpectErrorAsync(403, "admin");
        await (await c.PostAsync($"/api/node/{uuid}/seg/maxlabel/500?admintoken=tok", new ByteArrayContent([]))).ExpectAsync(200);
        await (await c.PostAsync($"/api/node/{uuid}/seg/maxlabel/{(1UL << 48) + 1}?admintoken=tok", new ByteArrayContent([]))).ExpectErrorAsync(400, "2^48");
        using (var max = await c.GetJsonAsync($"/api/node/{uuid}/seg/maxlabel"))
            Assert.Equal(500UL, max.RootElement.GetProperty("maxlabel").GetUInt64());
        await (await c.PostAsync($"/api/node/{uuid}/seg/set-nextlabel/999?ceiling=1005&admintoken=tok", new ByteArrayContent([]))).ExpectAsync(200);
        using (var next = await c.GetJsonAsync($"/api/node/{uuid}/seg/nextlabel"))
            Assert.Equal(1000UL, next.RootElement.GetProperty("nextlabel").GetUInt64());
        await (await c.PostAsync($"/api/node/{uuid}/seg/nextlabel/5", new ByteArrayContent([]))).ExpectAsync(200); // 1000..1004
        await (await c.PostAsync($"/api/node/{uuid}/seg/nextlabel/2", new ByteArrayContent([]))).ExpectErrorAsync(400, "ceiling");
    }

    private static byte[] Frame((int X, int Y, int Z) b, byte[] payload)
    {
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        BlockStream.WriteFrame(w, b, payload);
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public async Task Blocks_may_be_stored_and_read_at_scales_the_pyramid_does_not_keep()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg", new { BlockSize = "64,64,64" });
        // libdvid's test_labelarray_get_volumes asks for blocks at scale 6 and expects none.
        var empty = await (await _c.GetAsync($"/api/node/{uuid}/seg/blocks/64_64_64/0_0_0?scale=6")).ExpectAsync(200);
        Assert.Empty(await empty.Content.ReadAsByteArrayAsync());
        // test_sparselabelmask posts at scale 1 and reads it back.
        var block = GzipCodec.Compress(LabelBlock.Encode(Enumerable.Repeat(9UL, 64 * 64 * 64).ToArray(), (64, 64, 64)));
        await (await _c.PostAsync($"/api/node/{uuid}/seg/blocks?scale=1", new ByteArrayContent(Frame((0, 0, 0), block)))).ExpectAsync(200);
        var back = await (await _c.GetAsync($"/api/node/{uuid}/seg/blocks/64_64_64/0_0_0?scale=1&compression=uncompressed")).Content.ReadAsByteArrayAsync();
        Assert.Equal(16 + 64 * 64 * 64 * 8, back.Length);
        Assert.Equal(9UL, BinaryPrimitives.ReadUInt64LittleEndian(back.AsSpan(16)));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/blocks/64_64_64/0_0_0?scale=31")).ExpectErrorAsync(400, "scale");
    }

    [Theory]
    [InlineData("uint64blk")]
    [InlineData("labelblk")]
    public async Task Png_slices_of_64_bit_voxels_carry_the_voxel_bytes_unchanged(string type)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, type, "v", new { BlockSize = "32,32,32" });
        var voxels = new ulong[4 * 4 * 1];
        for (int i = 0; i < voxels.Length; i++) voxels[i] = 0x0102030405060708UL + (ulong)i;
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/4_4_1/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(voxels.AsSpan()).ToArray()))).ExpectAsync(200);
        var png = await (await _c.GetAsync($"/api/node/{uuid}/v/raw/xy/4_4/0_0_0/png")).Content.ReadAsByteArrayAsync();
        // Inflate the IDAT: each row is a filter byte then 4 pixels of 8 bytes; rows use the "up" filter.
        int idat = png.AsSpan().IndexOf("IDAT"u8);
        int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat - 4));
        using var z = new System.IO.Compression.ZLibStream(new MemoryStream(png, idat + 4, len), System.IO.Compression.CompressionMode.Decompress);
        var raw = new byte[4 * (1 + 32)];
        z.ReadExactly(raw);
        var firstRow = raw.AsSpan(1, 32); // row 0 with filter "up" over zeros is the pixels themselves
        Assert.Equal(MemoryMarshal.AsBytes(voxels.AsSpan(0, 4)).ToArray(), firstRow.ToArray());
    }

    [Fact]
    public async Task Labelmap_instances_keep_tags()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/tags", DvidClient.Json(new { type = "meshes", source = "lab" }))).ExpectAsync(200);
        using var tags = await _c.GetJsonAsync($"/api/node/{uuid}/seg/tags");
        Assert.Equal("meshes", tags.RootElement.GetProperty("Tags").GetProperty("type").GetString());
    }

    private static async Task<string?> AllowedOriginAsync(HttpClient c, string origin)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "/api/server/info");
        req.Headers.Add("Origin", origin);
        var r = await c.SendAsync(req);
        return r.Headers.TryGetValues("Access-Control-Allow-Origin", out var v) ? v.Single() : null;
    }

    [Fact]
    public async Task Cors_origins_can_be_narrowed_or_switched_off()
    {
        await using (var narrowed = await LiveServer.StartAsync(null, "--Diced:CorsOrigins", "https://ng.example,https://clio.example"))
        {
            Assert.Equal("https://ng.example", await AllowedOriginAsync(narrowed.Client, "https://ng.example"));
            Assert.Null(await AllowedOriginAsync(narrowed.Client, "https://other.example"));
        }
        await using (var off = await LiveServer.StartAsync(null, "--Diced:CorsOrigins", ""))
            Assert.Null(await AllowedOriginAsync(off.Client, "https://ng.example"));
        await using (var listed = await LiveServer.StartAsync(null, "--Diced:CorsOrigins:0", "https://a.example"))
            Assert.Null(await AllowedOriginAsync(listed.Client, "https://b.example"));
        Assert.Equal("*", await AllowedOriginAsync(_c, "https://any.example")); // the default
    }
}
