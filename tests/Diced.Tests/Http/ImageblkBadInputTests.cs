using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Malformed voxel requests: a clear 4xx before any work, nothing stored, the server still serving.</summary>
public class ImageblkBadInputTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    private async Task<string> Volume()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "v", new { BlockSize = "8,8,8" });
        return uuid;
    }

    private async Task AssertNothingStored(string uuid)
    {
        using var doc = await _c.GetJsonAsync($"/api/node/{uuid}/v/info");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.RootElement.GetProperty("Extended").GetProperty("MaxPoint").ValueKind);
        Assert.Empty(await (await _c.GetAsync($"/api/node/{uuid}/v/subvolblocks/64_64_64/-32_-32_-32")).Content.ReadAsByteArrayAsync());
    }

    /// <summary>Issue 17: a POST raw body is received a layer at a time; a chunked body (no Content-Length) that ends
    /// early or runs long is refused whole, even when its first layers were complete.</summary>
    [Theory]
    [InlineData(16 * 16 * 12, "ended early; nothing was stored")]
    [InlineData(16 * 16 * 16 + 1, "more than the 4096 bytes")]
    public async Task Chunked_bodies_of_the_wrong_length_store_nothing(int bytes, string message)
    {
        var uuid = await Volume();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/node/{uuid}/v/raw/0_1_2/16_16_16/0_0_0") { Content = new ByteArrayContent(new byte[bytes]) };
        request.Headers.TransferEncodingChunked = true; // no Content-Length to check against before reading
        var r = await _c.SendAsync(request);
        Assert.Contains(message, await r.ExpectErrorAsync(400));
        await AssertNothingStored(uuid);
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/16_16_16/0_0_0", new ByteArrayContent(new byte[4096]))).ExpectAsync(200);
    }

    [Theory]
    [InlineData("0_1_2", "10_10", "0_0_0")]
    [InlineData("0_1_2", "a_b_c", "0_0_0")]
    [InlineData("0_1_2", "0_5_5", "0_0_0")]
    [InlineData("0_1_2", "5_-5_5", "0_0_0")]
    [InlineData("0_1_2", "5_5_5", "0_0")]
    [InlineData("0_1_2", "5_5_5", "x_0_0")]
    [InlineData("0_1_2", "5_5_5.5", "0_0_0")]
    [InlineData("1_0", "5_5", "0_0_0")]
    [InlineData("2_1_0", "5_5_5", "0_0_0")]
    [InlineData("0_1", "5_5_5", "0_0_0")]
    [InlineData("0_1_2", "99999999999_1_1", "0_0_0")]
    [InlineData("0_1_2", "10_10_10", "2147483640_0_0")]
    public async Task Malformed_geometry_is_400_for_get_and_post(string dims, string size, string offset)
    {
        var uuid = await Volume();
        await (await _c.GetAsync($"/api/node/{uuid}/v/raw/{dims}/{size}/{offset}")).ExpectErrorAsync(400);
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/{dims}/{size}/{offset}", new ByteArrayContent(new byte[125]))).ExpectErrorAsync(400);
        await AssertNothingStored(uuid);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(1001)]
    [InlineData(0)]
    public async Task Body_length_must_equal_the_box(int length)
    {
        var uuid = await Volume();
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/10_10_10/0_0_0", new ByteArrayContent(new byte[length])))
            .ExpectErrorAsync(400, "expected 1000 bytes");
        await AssertNothingStored(uuid);
    }

    [Fact]
    public async Task Lz4_bodies_that_do_not_decode_to_the_box_are_400()
    {
        var uuid = await Volume();
        var tooShort = Diced.Codecs.Lz4Block.Encode(new byte[999]);
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/10_10_10/0_0_0?compression=lz4", new ByteArrayContent(tooShort))).ExpectErrorAsync(400, "LZ4");
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/10_10_10/0_0_0?compression=lz4", new ByteArrayContent([0xFF, 0x00, 0x13, 0x37]))).ExpectErrorAsync(400, "LZ4");
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/10_10_10/0_0_0?compression=bogus", new ByteArrayContent(new byte[1000]))).ExpectErrorAsync(400);
        await AssertNothingStored(uuid);
    }

    [Fact]
    public async Task Requests_over_the_voxel_limit_are_refused_before_any_work()
    {
        var uuid = await Volume();
        var r = await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1_2/2048_2048_1024/0_0_0"); // 4 GiB > 3 GiB default
        await r.ExpectErrorAsync(400, "exceeds this DVID server's set limit");
        await (await _c.GetAsync($"/api/node/{uuid}/v/blocks/0_0_0/99999999")).ExpectErrorAsync(400, "exceeds");
    }

    [Theory]
    [InlineData("0,64,64")]
    [InlineData("-8,8,8")]
    [InlineData("8.5,8,8")]
    [InlineData("a,b,c")]
    [InlineData("8")]
    [InlineData("8,8,8,8")]
    [InlineData("2048,2048,2048")]
    public async Task Bad_block_sizes_are_rejected_at_creation(string blockSize)
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "uint8blk", dataname = "v", BlockSize = blockSize }))).ExpectErrorAsync(400, "BlockSize");
        using var doc = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Empty(doc.RootElement.GetProperty("DataInstances").EnumerateObject());
    }

    [Theory]
    [InlineData("uint16blk", "jpeg")]
    [InlineData("uint8blk", "jpeg:0")]
    [InlineData("uint8blk", "snappy")]
    public async Task Unsupported_codecs_are_rejected_at_creation(string type, string compression)
    {
        var uuid = await _c.CreateRepoAsync();
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = type, dataname = "v", Compression = compression }))).ExpectErrorAsync(400);
    }

    [Theory]
    [InlineData("VoxelSize", "8,8")]
    [InlineData("VoxelSize", "-1,8,8")]
    [InlineData("Background", "256")]
    [InlineData("Background", "dark")]
    public async Task Bad_volume_settings_are_rejected_at_creation(string key, string value)
    {
        var uuid = await _c.CreateRepoAsync();
        var config = new Dictionary<string, string> { ["typename"] = "uint8blk", ["dataname"] = "v", [key] = value };
        await (await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(config))).ExpectErrorAsync(400, key);
    }

    [Fact]
    public async Task Two_d_posts_and_roi_masks_get_clear_messages()
    {
        var uuid = await Volume();
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1/8_8/0_0_0", new ByteArrayContent(new byte[64]))).ExpectErrorAsync(400, "2d");
        await AssertNothingStored(uuid);
    }

    [Fact]
    public async Task Blocks_spans_check_their_arguments()
    {
        var uuid = await Volume();
        await (await _c.GetAsync($"/api/node/{uuid}/v/blocks/0_0/1")).ExpectErrorAsync(400);
        await (await _c.GetAsync($"/api/node/{uuid}/v/blocks/0_0_0/0")).ExpectErrorAsync(400, "span");
        await (await _c.GetAsync($"/api/node/{uuid}/v/blocks/0_0_0/x")).ExpectErrorAsync(400, "span");
        await (await _c.PostAsync($"/api/node/{uuid}/v/blocks/0_0_0/1", new ByteArrayContent(new byte[100]))).ExpectErrorAsync(400);
        await AssertNothingStored(uuid);
    }
}

/// <summary>A server whose throttled-operation quota is zero: every <c>throttle=on</c> request gets 503 at once.</summary>
public class ThrottleTests : IDisposable
{
    private readonly DicedFactory _factory = new();
    private readonly HttpClient _c;

    public ThrottleTests()
    {
        _factory.Settings["Diced:MaxThrottledOps"] = "0";
        _c = _factory.CreateClient();
    }

    [Fact]
    public async Task Throttled_requests_over_the_quota_get_503()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "v", new { BlockSize = "8,8,8" });
        await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1_2/8_8_8/0_0_0?throttle=on")).ExpectErrorAsync(503, "throttled operations");
        await (await _c.PostAsync($"/api/node/{uuid}/v/raw/0_1_2/8_8_8/0_0_0?throttle=true", new ByteArrayContent(new byte[512]))).ExpectErrorAsync(503);
        await (await _c.GetAsync($"/api/node/{uuid}/v/raw/0_1_2/8_8_8/0_0_0")).ExpectAsync(200); // unthrottled requests pass
    }

    public void Dispose() => _factory.Dispose();
}
