using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs;
using Diced.Codecs.Labels;
using Diced.Tests.Infrastructure;
using SkiaSharp;

namespace Diced.Tests.Viewer;

/// <summary>
/// Exactly the requests Neuroglancer's <c>dvid://</c> source makes (its datasource/dvid frontend and backend), over
/// real HTTP with CORS, with the answers decoded as Neuroglancer decodes them.
/// </summary>
public class NeuroglancerTests : IAsyncLifetime
{
    private LiveServer _server = null!;
    private HttpClient _ng = null!; // no automatic decompression: Neuroglancer's browser does it from Content-Encoding
    private string _repo = "";
    private readonly byte[] _grey = new byte[128 * 64 * 64];
    private readonly ulong[] _labels = new ulong[128 * 128 * 128];

    public async Task InitializeAsync()
    {
        _server = await LiveServer.StartAsync();
        _ng = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = _server.BaseAddress };
        var c = _server.Client;
        _repo = await c.CreateRepoAsync("ng", "neuroglancer data");
        await c.CreateInstanceAsync(_repo, "uint8blk", "em", new { Compression = "jpeg:90" });
        await c.CreateInstanceAsync(_repo, "uint8blk", "em-raw");
        await c.CreateInstanceAsync(_repo, "labelblk", "seg-blk", new { BlockSize = "64,64,64" });
        await c.CreateInstanceAsync(_repo, "labelmap", "seg", new { MaxDownresLevel = "1" });
        for (int z = 0; z < 64; z++) for (int y = 0; y < 64; y++) for (int x = 0; x < 128; x++)
            _grey[(z * 64 + y) * 128 + x] = (byte)(100 + 50 * Math.Sin(x / 7.0) * Math.Cos(y / 5.0) + z);
        for (int z = 0; z < 128; z++) for (int y = 0; y < 128; y++) for (int x = 0; x < 128; x++)
            _labels[(z * 128 + y) * 128 + x] = (ulong)(1 + x / 20 + 10 * (y / 30) + 100 * (z / 40));
        foreach (var name in new[] { "em", "em-raw" })
            await (await c.PostAsync($"/api/node/{_repo}/{name}/raw/0_1_2/128_64_64/0_0_0", new ByteArrayContent(_grey))).ExpectAsync(200);
        var labelBytes = MemoryMarshal.AsBytes(_labels.AsSpan()).ToArray();
        foreach (var name in new[] { "seg-blk", "seg" })
            await (await c.PostAsync($"/api/node/{_repo}/{name}/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(labelBytes))).ExpectAsync(200);
    }

    public async Task DisposeAsync()
    {
        _ng.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<byte[]> Get(string path)
    {
        var r = await _ng.SendAsync(new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "Origin", "http://neuroglancer.example" } } });
        await r.ExpectAsync(200);
        Assert.Equal("*", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var body = await r.Content.ReadAsByteArrayAsync();
        return r.Content.Headers.ContentEncoding.Contains("gzip") ? GzipCodec.Decompress(body) : body;
    }

    [Fact]
    public async Task Repos_info_has_everything_the_dvid_source_parses()
    {
        using var doc = JsonDocument.Parse(await Get("/api/repos/info?u=neuroglancer"));
        var repo = doc.RootElement.GetProperty(_repo);
        Assert.Equal("ng", repo.GetProperty("Alias").GetString());
        Assert.Equal(JsonValueKind.String, repo.GetProperty("Description").ValueKind);
        Assert.True(repo.GetProperty("DAG").GetProperty("Nodes").TryGetProperty(_repo, out _));
        var instances = repo.GetProperty("DataInstances");
        Assert.Contains("jpeg", instances.GetProperty("em").GetProperty("Base").GetProperty("Compression").GetString());
        Assert.DoesNotContain("jpeg", instances.GetProperty("em-raw").GetProperty("Base").GetProperty("Compression").GetString());
        foreach (var (name, dataType) in new[] { ("em", "uint8"), ("em-raw", "uint8"), ("seg-blk", "uint64"), ("seg", "uint64") })
        {
            var ext = instances.GetProperty(name).GetProperty("Extended");
            Assert.Equal(dataType, ext.GetProperty("Values")[0].GetProperty("DataType").GetString());
            Assert.All(ext.GetProperty("VoxelSize").EnumerateArray(), v => Assert.True(v.GetDouble() > 0));
            Assert.Equal([64, 64, 64], ext.GetProperty("BlockSize").EnumerateArray().Select(v => v.GetInt32()).ToArray());
            Assert.Equal([0, 0, 0], ext.GetProperty("MinPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray());
            Assert.Equal(3, ext.GetProperty("MaxPoint").GetArrayLength());
        }
        Assert.Equal(1, instances.GetProperty("seg").GetProperty("Extended").GetProperty("MaxDownresLevel").GetInt32());
    }

    [Fact]
    public async Task Jpeg_chunks_from_subvolblocks_and_raw_jpeg_decode_to_the_volume()
    {
        // JPEG-stored uint8blk: subvolblocks, the 16-byte block header dropped, one JPEG of 64 x (64*64).
        var block = await Get($"/api/node/{_repo[..6]}/em/subvolblocks/64_64_64/64_0_0?u=neuroglancer");
        AssertJpegMatches(block.AsSpan(16).ToArray(), 64);
        // Other uint8blk: raw/…/jpeg.
        AssertJpegMatches(await Get($"/api/node/{_repo[..6]}/em-raw/raw/0_1_2/64_64_64/64_0_0/jpeg?u=neuroglancer"), 64);
    }

    private void AssertJpegMatches(byte[] jpeg, int x0)
    {
        using var bitmap = SKBitmap.Decode(jpeg);
        Assert.NotNull(bitmap);
        Assert.Equal(64, bitmap.Width);
        Assert.Equal(64 * 64, bitmap.Height);
        double error = 0;
        for (int z = 0; z < 64; z++) for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x += 7)
            error += Math.Abs(bitmap.GetPixel(x, z * 64 + y).Red - _grey[(z * 64 + y) * 128 + x0 + x]);
        Assert.True(error / (64 * 64 * 10) < 6, $"mean JPEG error {error / (64 * 64 * 10):F1}");
    }

    [Fact]
    public async Task Segmentation_chunks_decode_at_every_scale()
    {
        // labelblk: compressed segmentation, gzip in Content-Encoding.
        var r = await _ng.GetAsync($"/api/node/{_repo}/seg-blk/raw/0_1_2/64_64_64/64_64_0?compression=googlegzip&u=neuroglancer");
        await r.ExpectAsync(200);
        Assert.Contains("gzip", r.Content.Headers.ContentEncoding);
        var chunk = CompressedSegmentation.Decode(GzipCodec.Decompress(await r.Content.ReadAsByteArrayAsync()), (64, 64, 64));
        Assert.Equal(Crop(_labels, 128, 64, 64, 0, 64), chunk);
        // labelmap: one source per scale up to MaxDownresLevel.
        var s1 = new ulong[64 * 64 * 64];
        for (int z = 0; z < 64; z++) for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++)
        {
            var votes = new Dictionary<ulong, int>();
            for (int d = 0; d < 8; d++)
            {
                var l = _labels[((2 * z + (d >> 2)) * 128 + 2 * y + (d >> 1 & 1)) * 128 + 2 * x + (d & 1)];
                votes[l] = votes.GetValueOrDefault(l) + 1;
            }
            s1[(z * 64 + y) * 64 + x] = votes.OrderByDescending(v => v.Value).ThenBy(v => v.Key).First().Key;
        }
        var scale0 = CompressedSegmentation.Decode(await Get($"/api/node/{_repo}/seg/raw/0_1_2/64_64_64/0_64_64?compression=googlegzip&scale=0&u=neuroglancer"), (64, 64, 64));
        Assert.Equal(Crop(_labels, 128, 0, 64, 64, 64), scale0);
        var scale1 = CompressedSegmentation.Decode(await Get($"/api/node/{_repo}/seg/raw/0_1_2/64_64_64/0_0_0?compression=googlegzip&scale=1&u=neuroglancer"), (64, 64, 64));
        Assert.Equal(s1, scale1);
    }

    private static ulong[] Crop(ulong[] v, int n, int x0, int y0, int z0, int size)
    {
        var r = new ulong[size * size * size];
        for (int z = 0; z < size; z++) for (int y = 0; y < size; y++)
            v.AsSpan(((z0 + z) * n + y0 + y) * n + x0, size).CopyTo(r.AsSpan((z * size + y) * size, size));
        return r;
    }
}
