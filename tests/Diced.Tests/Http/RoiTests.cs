using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class RoiTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    private async Task<string> RepoWithRoi(string spans, string blockSize = "32,32,32")
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "roi", "r", new { BlockSize = blockSize });
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text(spans))).ExpectAsync(200);
        return uuid;
    }

    [Fact]
    public async Task Erode_shrinks_the_roi_by_a_cube_of_blocks()
    {
        // A 5×5×5 cube of blocks, each row posted in two adjacent spans.
        var spans = new List<string>();
        for (int z = 0; z < 5; z++)
            for (int y = 0; y < 5; y++) { spans.Add($"[{z},{y},0,1]"); spans.Add($"[{z},{y},2,4]"); }
        var uuid = await RepoWithRoi("[" + string.Join(",", spans) + "]");
        var whole = Enumerable.Range(0, 5).SelectMany(z => Enumerable.Range(0, 5).Select(y => $"[{z},{y},0,4]"));
        Assert.Equal("[" + string.Join(",", whole) + "]", await _c.GetStringAsync($"/api/node/{uuid}/r/erode/0"));
        var inner = Enumerable.Range(1, 3).SelectMany(z => Enumerable.Range(1, 3).Select(y => $"[{z},{y},1,3]"));
        Assert.Equal("[" + string.Join(",", inner) + "]", await _c.GetStringAsync($"/api/node/{uuid}/r/erode/1"));
        Assert.Equal("[[2,2,2,2]]", await _c.GetStringAsync($"/api/node/{uuid}/r/erode/2"));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/r/erode/3"));
        // A hole in the middle block row removes everything within 1 block of it.
        var holed = await RepoWithRoi("[" + string.Join(",", spans.Where(sp => sp != "[2,2,2,4]").Append("[2,2,3,4]")) + "]");
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{holed}/r/erode/1"));
        await (await _c.GetAsync($"/api/node/{uuid}/r/erode/-1")).ExpectErrorAsync(400, "structuring element");
    }

    [Fact]
    public async Task Roi_post_replaces_and_get_returns_sorted_spans()
    {
        var uuid = await RepoWithRoi("[[1,2,3,5],[0,0,0,1],[0,2,3,5]]");
        Assert.Equal("[[0,0,0,1],[0,2,3,5],[1,2,3,5]]", await _c.GetStringAsync($"/api/node/{uuid}/r/roi"));
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text("[[7,7,7,7]]"))).ExpectAsync(200);
        Assert.Equal("[[7,7,7,7]]", await _c.GetStringAsync($"/api/node/{uuid}/r/roi"));
        await (await _c.DeleteAsync($"/api/node/{uuid}/r/roi")).ExpectAsync(200);
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/r/roi"));
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/r/info");
        Assert.Equal(int.MaxValue, info.RootElement.GetProperty("Extended").GetProperty("MinZ").GetInt32());
    }

    [Fact]
    public async Task Roi_is_versioned_and_ptquery_works_on_locked_nodes()
    {
        var root = await RepoWithRoi("[[0,0,0,1]]");
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        await (await _c.PostAsync($"/api/node/{child}/r/roi", DvidClient.Text("[[0,0,5,5]]"))).ExpectAsync(200);
        var q = DvidClient.Text("[[0,0,0],[63,31,31],[64,0,0],[160,0,0],[-1,0,0]]");
        var r = await (await _c.PostAsync($"/api/node/{root}/r/ptquery", q)).ExpectAsync(200);
        Assert.Equal("[true,true,false,false,false]", await r.Content.ReadAsStringAsync());
        var rc = await _c.PostAsync($"/api/node/{child}/r/ptquery", DvidClient.Text("[[0,0,0],[170,5,5]]"));
        Assert.Equal("[false,true]", await rc.Content.ReadAsStringAsync());
        await (await _c.PostAsync($"/api/node/{root}/r/roi", DvidClient.Text("[]"))).ExpectErrorAsync(400, "locked node");
        await (await _c.GetAsync($"/api/node/{root}/r/ptquery")).ExpectErrorAsync(400);
    }

    [Fact]
    public async Task Mask_marks_voxels_inside_with_one()
    {
        var uuid = await RepoWithRoi("[[0,0,1,1]]", "4,4,4");
        var mask = await (await (await _c.GetAsync($"/api/node/{uuid}/r/mask/0_1_2/12_2_2/0_0_0")).ExpectAsync(200)).Content.ReadAsByteArrayAsync();
        Assert.Equal(48, mask.Length);
        for (int i = 0; i < 48; i++) Assert.Equal(i % 12 is >= 4 and < 8 ? 1 : 0, mask[i]);
        await (await _c.GetAsync($"/api/node/{uuid}/r/mask/0_1/12_2/0_0_0")).ExpectErrorAsync(400, "3d");
    }

    [Fact]
    public async Task Partition_covers_the_roi_with_batches_of_blocks()
    {
        var uuid = await RepoWithRoi("[[0,0,0,9],[0,1,0,3],[5,5,5,5]]", "16,16,16");
        await (await _c.GetAsync($"/api/node/{uuid}/r/partition")).ExpectErrorAsync(400, "batchsize");
        var r = await (await _c.GetAsync($"/api/node/{uuid}/r/partition?batchsize=4")).ExpectAsync(200);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.Equal(15, root.GetProperty("NumActiveBlocks").GetInt64());
        var subs = root.GetProperty("Subvolumes").EnumerateArray().ToList();
        Assert.Equal(root.GetProperty("NumSubvolumes").GetInt32(), subs.Count);
        Assert.Equal(15, subs.Sum(s => s.GetProperty("ActiveBlocks").GetInt64()));
        foreach (var s in subs)
        {
            Assert.Equal(64, s.GetProperty("TotalBlocks").GetInt64());
            Assert.Equal(s.GetProperty("MinChunk")[0].GetInt32() * 16, s.GetProperty("MinPoint")[0].GetInt32());
        }
        Assert.Contains("\n    \"NumTotalBlocks\"", await r.Content.ReadAsStringAsync()); // indented as DVID
    }

    [Fact]
    public async Task Image_requests_with_roi_zero_or_attenuate_outside_and_restrict_writes()
    {
        var uuid = await RepoWithRoi("[[0,0,1,1]]", "4,4,4");
        await _c.CreateInstanceAsync(uuid, "uint8blk", "g", new { BlockSize = "4,4,4" });
        var full = Enumerable.Repeat((byte)200, 12 * 4 * 4).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0", new ByteArrayContent(full))).ExpectAsync(200);
        var masked = await (await _c.GetAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0?roi=r")).Content.ReadAsByteArrayAsync();
        for (int i = 0; i < masked.Length; i++) Assert.Equal(i % 12 is >= 4 and < 8 ? 200 : 0, masked[i]);
        var dim = await (await _c.GetAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0?roi=r&attenuation=2")).Content.ReadAsByteArrayAsync();
        Assert.Equal(50, dim[0]);
        Assert.Equal(200, dim[5]);
        var update = Enumerable.Repeat((byte)9, 12 * 4 * 4).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0?roi=r", new ByteArrayContent(update))).ExpectAsync(200);
        var after = await (await _c.GetAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0")).Content.ReadAsByteArrayAsync();
        for (int i = 0; i < after.Length; i++) Assert.Equal(i % 12 is >= 4 and < 8 ? 9 : 200, after[i]);
        await (await _c.GetAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0?roi=nosuch")).ExpectErrorAsync(400, "invalid data instance name");
        await (await _c.GetAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0?roi=g")).ExpectErrorAsync(400, "not an roi");
        await (await _c.GetAsync($"/api/node/{uuid}/g/raw/0_1_2/12_4_4/0_0_0?roi=r&attenuation=9")).ExpectErrorAsync(400, "attenuation");
    }

    [Theory]
    [InlineData("[[0,0,5,4]]", "ends before it starts")]
    [InlineData("[[0,0,5]]", "4 integers")]
    [InlineData("{\"spans\": []}", "JSON array")]
    [InlineData("[[0,0,\"a\",1]]", "4 integers")]
    [InlineData("[[0,0,0,1]", "Malformed JSON")]
    public async Task Bad_spans_are_400_and_keep_the_previous_roi(string body, string message)
    {
        var uuid = await RepoWithRoi("[[1,1,1,1]]");
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text(body))).ExpectErrorAsync(400, message);
        Assert.Equal("[[1,1,1,1]]", await _c.GetStringAsync($"/api/node/{uuid}/r/roi"));
        await (await _c.PostAsync($"/api/node/{uuid}/r/ptquery", DvidClient.Text("[[1,2]]"))).ExpectErrorAsync(400, "3 integers");
    }
}
