using Diced.Tests.Infrastructure;

namespace Diced.Tests.Regressions;

/// <summary>
/// Issue 12: <c>POST raw?roi=</c> read the whole box, merged the ROI's voxels in and wrote the box back outside the
/// per-block locks, so a concurrent writer's voxels outside the ROI could be overwritten with stale ones.
/// </summary>
public class Issue12_roi_writes_keep_concurrent_voxels(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    [Fact]
    public async Task A_masked_write_never_overwrites_voxels_outside_the_roi()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "grey", new { BlockSize = "16,16,16" });
        await _c.CreateInstanceAsync(uuid, "roi", "r", new { BlockSize = "16,16,16" });
        await (await _c.PostAsync($"/api/node/{uuid}/r/roi", DvidClient.Text("[[0,0,0,0]]"))).ExpectAsync(200); // block (0,0,0) only
        using var done = new CancellationTokenSource();
        // A writes 200 over two blocks through the ROI: only the first block may change.
        var masked = Task.Run(async () =>
        {
            var body = Enumerable.Repeat((byte)200, 32 * 16 * 16).ToArray();
            while (!done.IsCancellationRequested)
                await (await _c.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/32_16_16/0_0_0?roi=r", new ByteArrayContent(body))).ExpectAsync(200);
        });
        // C watches the second block: B only ever raises its value, so seeing it fall means a stale overwrite.
        int falls = 0;
        var watcher = Task.Run(async () =>
        {
            int last = 0;
            while (!done.IsCancellationRequested)
            {
                var now = (await _c.GetByteArrayAsync($"/api/node/{uuid}/grey/raw/0_1_2/1_1_1/16_0_0"))[0];
                if (now < last) Interlocked.Increment(ref falls);
                last = now;
            }
        });
        // B writes the second block, outside the ROI, over and over, each time with a higher value.
        const int writes = 250;
        for (int v = 1; v <= writes; v++)
            await (await _c.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/16_16_16/16_0_0", new ByteArrayContent(Enumerable.Repeat((byte)v, 16 * 16 * 16).ToArray()))).ExpectAsync(200);
        done.Cancel();
        await masked;
        await watcher;
        Assert.Equal(0, falls);
        var outside = await _c.GetByteArrayAsync($"/api/node/{uuid}/grey/raw/0_1_2/16_16_16/16_0_0");
        Assert.All(outside, b => Assert.Equal(writes, b));
        var inside = await _c.GetByteArrayAsync($"/api/node/{uuid}/grey/raw/0_1_2/16_16_16/0_0_0");
        Assert.All(inside, b => Assert.Equal(200, b));
    }
}
