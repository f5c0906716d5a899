using Diced.Client;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary><c>diced downres</c>: levels built over written data, with progress, readable as <c>{array}_k</c>.</summary>
public class DicedDownresCliTests() : CliTest("diced-downres")
{
    private static byte[] Half(byte[] v, int nx, int ny, int nz)
    {
        var r = new byte[nx / 2 * (ny / 2) * (nz / 2)];
        for (int z = 0; z < nz / 2; z++)
            for (int y = 0; y < ny / 2; y++)
                for (int x = 0; x < nx / 2; x++)
                {
                    int s = 0;
                    for (int d = 0; d < 8; d++) s += v[((2 * z + (d >> 2)) * ny + 2 * y + (d >> 1 & 1)) * nx + 2 * x + (d & 1)];
                    r[(z * (ny / 2) + y) * (nx / 2) + x] = (byte)((s + 4) / 8);
                }
        return r;
    }

    [Fact]
    public async Task Downres_builds_the_levels_of_an_ingested_array_with_a_progress_bar()
    {
        var raw = Path.Combine(Dir, "vol.raw");
        var data = new byte[128 * 128 * 64];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7 % 251 ^ i >> 13);
        await File.WriteAllBytesAsync(raw, data);
        Assert.Equal(0, (await Diced("ingest", raw, "--size", "128,128,64", "--repo", "em", "--array", "grey", "--create", "--store", Store)).Code);
        var run = await Diced("downres", "--repo", "em", "--array", "grey", "--levels", "2", "--store", Store);
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("downres [", run.Err);
        Assert.Contains("blocks/s", run.Out);
        Assert.Contains("levels 1 to 2 of grey (2 blocks)", run.Out); // 64x64x32 at level 1, 32x32x16 at level 2: a 64³ block each

        await using var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 });
        var repo = await store.OpenRepoAsync("em");
        var level1 = Half(data, 128, 128, 64);
        var level2 = Half(level1, 64, 64, 32);
        Assert.Equal(level1, await (await repo.GetArrayAsync("grey_1")).ReadRawAsync((0, 0, 0), (64, 64, 32)));
        Assert.Equal(level2, await (await repo.GetArrayAsync("grey_2")).ReadRawAsync((0, 0, 0), (32, 32, 16)));
        Assert.Equal(2, await (await repo.GetArrayAsync("grey")).PyramidLevelsAsync());
    }

    [Fact]
    public async Task Bad_levels_and_arrays_without_image_pyramids_are_one_line_errors()
    {
        Assert.Equal(2, (await Diced("downres", "--repo", "em", "--array", "grey", "--levels", "0", "--store", Store)).Code);
        await using (var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 }))
        {
            var repo = await store.CreateRepoAsync("em");
            await repo.CreateArrayAsync("movie", ArrayDtype.Uint8, shape: [2, 8, 8, 8]);
        }
        var nd = await Diced("downres", "--repo", "em", "--array", "movie", "--levels", "1", "--store", Store);
        Assert.Equal(1, nd.Code);
        Assert.Contains("pyramids are built for image arrays", nd.Err);
        Assert.Single(nd.Err.Trim().Split('\n'));
    }
}
