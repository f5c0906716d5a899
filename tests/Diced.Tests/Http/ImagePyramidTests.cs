using System.Net;
using System.Text.Json;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>
/// Image pyramids kept current: levels 1..N of an image instance follow every write (2×2×2 mean of the level below),
/// are served as the read-only instances <c>{name}_k</c> listed in the repo info, and can be built for data written
/// before they existed. Levels are checked against means the test computes from level 0 as read back.
/// </summary>
public class ImagePyramidTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;
    private Diced.Datastore.Datastore Store => (Diced.Datastore.Datastore)f.Factory.Services.GetService(typeof(Diced.Datastore.Datastore))!;

    private async Task<byte[]> Get(string uuid, string name, int n, Point3 at = default)
    {
        var r = await (await _c.GetAsync($"/api/node/{uuid}/{name}/raw/0_1_2/{n}_{n}_{n}/{at.X}_{at.Y}_{at.Z}")).ExpectAsync(200);
        return await r.Content.ReadAsByteArrayAsync();
    }

    private async Task Post(string uuid, string name, Point3 size, Point3 at, byte[] body, int status = 200)
        => await (await _c.PostAsync($"/api/node/{uuid}/{name}/raw/0_1_2/{size.X}_{size.Y}_{size.Z}/{at.X}_{at.Y}_{at.Z}", new ByteArrayContent(body))).ExpectAsync(status);

    /// <summary>The 2×2×2 rounded mean of a packed n³ uint8 volume.</summary>
    private static byte[] Half(byte[] v, int n)
    {
        int h = n / 2;
        var r = new byte[h * h * h];
        for (int z = 0; z < h; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < h; x++)
                {
                    int s = 0;
                    for (int dz = 0; dz < 2; dz++)
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++) s += v[((2 * z + dz) * n + 2 * y + dy) * n + 2 * x + dx];
                    r[(z * h + y) * h + x] = (byte)((s + 4) / 8);
                }
        return r;
    }

    private async Task AssertLevelsMatch(string uuid, string name, int n, int levels)
    {
        var level = await Get(uuid, name, n);
        for (int k = 1; k <= levels; k++)
        {
            level = Half(level, n >> (k - 1));
            Assert.Equal(level, await Get(uuid, $"{name}_{k}", n >> k));
        }
    }

    private static byte[] Random(int count, int seed)
    {
        var data = new byte[count];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public async Task Levels_follow_every_write_and_are_listed_as_read_only_instances()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "grey", new { BlockSize = "8,8,8", MaxDownresLevel = "2", VoxelSize = "4,4,40" });
        await Post(uuid, "grey", new Point3(37, 29, 21), new Point3(3, 5, 7), Random(37 * 29 * 21, 1));
        await AssertLevelsMatch(uuid, "grey", 64, 2);
        // A second, overlapping write changes only what it must.
        await Post(uuid, "grey", new Point3(16, 16, 16), new Point3(24, 8, 16), Random(16 * 16 * 16, 2));
        await AssertLevelsMatch(uuid, "grey", 64, 2);

        using var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        var instances = info.RootElement.GetProperty("DataInstances");
        Assert.False(instances.TryGetProperty("grey_3", out _));
        var l2 = instances.GetProperty("grey_2");
        Assert.Equal("grey_2", l2.GetProperty("Base").GetProperty("Name").GetString());
        Assert.Equal("uint8blk", l2.GetProperty("Base").GetProperty("TypeName").GetString());
        Assert.Equal([16f, 16f, 160f], l2.GetProperty("Extended").GetProperty("VoxelSize").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal([0, 0, 0], l2.GetProperty("Extended").GetProperty("MinPoint").EnumerateArray().Select(v => v.GetInt32()));
        // Level 0 reaches x 47, y 39, z 31 (block-aligned): at level 2, inside the blocks ending at 15, 15 and 7.
        Assert.Equal([15, 15, 7], l2.GetProperty("Extended").GetProperty("MaxPoint").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(2, instances.GetProperty("grey").GetProperty("Extended").GetProperty("MaxDownresLevel").GetInt32());
        using var levelInfo = await _c.GetJsonAsync($"/api/node/{uuid}/grey_1/info");
        Assert.Equal([8f, 8f, 80f], levelInfo.RootElement.GetProperty("Extended").GetProperty("VoxelSize").EnumerateArray().Select(v => v.GetSingle()));

        // Levels are read-only, and their names cannot be taken.
        var before = await Get(uuid, "grey_1", 32);
        await Post(uuid, "grey_1", new Point3(8, 8, 8), default, new byte[512], 400);
        var r = await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "uint8blk", dataname = "grey_2" }));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("would hide level 2", await r.Content.ReadAsStringAsync());
        await _c.CreateInstanceAsync(uuid, "uint8blk", "other_1");
        r = await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "uint8blk", dataname = "other", MaxDownresLevel = "1" }));
        Assert.Contains("another instance", await r.Content.ReadAsStringAsync());
        Assert.Equal(before, await Get(uuid, "grey_1", 32));
    }

    [Fact]
    public async Task Concurrent_writers_of_blocks_sharing_parents_leave_every_level_the_mean_of_the_one_below()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "grey", new { BlockSize = "8,8,8", MaxDownresLevel = "3" });
        // 64 single-block writes at once: every level-3 block is the parent of all of them.
        await Parallel.ForEachAsync(Enumerable.Range(0, 64), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await Post(uuid, "grey", new Point3(8, 8, 8), new Point3(i % 4 * 8, i / 4 % 4 * 8, i / 16 * 8), Random(512, 100 + i)));
        await AssertLevelsMatch(uuid, "grey", 64, 3);
    }

    [Fact]
    public async Task Levels_added_to_written_data_are_built_by_downres_and_locked_versions_keep_theirs()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "em", new { BlockSize = "8,8,8" });
        await Post(uuid, "em", new Point3(32, 32, 32), default, Random(32 * 32 * 32, 3));
        var r = await _c.PostAsync($"/api/node/{uuid}/em/downres/1/32_32_32/0_0_0", new ByteArrayContent([]));
        Assert.Contains("keeps no pyramid", await r.Content.ReadAsStringAsync());
        await (await _c.PostAsync($"/api/node/{uuid}/em/info", DvidClient.Json(new { MaxDownresLevel = "2" }))).ExpectAsync(200);
        Assert.Equal(new byte[16 * 16 * 16], await Get(uuid, "em_1", 16)); // empty until built
        foreach (var level in new[] { 1, 2 })
        {
            var done = await (await _c.PostAsync($"/api/node/{uuid}/em/downres/{level}/32_32_32/0_0_0", new ByteArrayContent([]))).ExpectAsync(200);
            using var doc = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
            Assert.Equal(level == 1 ? 8 : 1, doc.RootElement.GetProperty("Blocks").GetInt32());
        }
        await AssertLevelsMatch(uuid, "em", 32, 2);
        r = await _c.PostAsync($"/api/node/{uuid}/em/downres/3/32_32_32/0_0_0", new ByteArrayContent([]));
        Assert.Contains("must be 1 to 2", await r.Content.ReadAsStringAsync());
        r = await _c.PostAsync($"/api/node/{uuid}/em/info", DvidClient.Json(new { MaxDownresLevel = "1" }));
        Assert.Contains("cannot fall", await r.Content.ReadAsStringAsync());

        var locked = await Get(uuid, "em_1", 16);
        await _c.CommitAsync(uuid);
        var child = await _c.NewVersionAsync(uuid);
        await Post(child, "em", new Point3(8, 8, 8), new Point3(8, 8, 8), Enumerable.Repeat((byte)255, 512).ToArray());
        Assert.Equal(locked, await Get(uuid, "em_1", 16));
        await AssertLevelsMatch(child, "em", 32, 2);
        Assert.NotEqual(locked, await Get(child, "em_1", 16));
    }

    [Fact]
    public async Task A_write_that_began_before_levels_were_added_updates_them_too()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "late", new { BlockSize = "8,8,8" });
        // A request's volume, made before MaxDownresLevel rose (as a long streaming POST holds it).
        var at = Store.Resolve(uuid);
        var volume = Store.ImageVolumeOf(Store.DataAt(at, Store.GetInstance(at, "late")));
        await (await _c.PostAsync($"/api/node/{uuid}/late/info", DvidClient.Json(new { MaxDownresLevel = "1" }))).ExpectAsync(200);
        await volume.WriteAsync(new Box(default, new Point3(16, 16, 16)), Enumerable.Repeat((byte)90, 16 * 16 * 16).ToArray());
        Assert.Equal(Enumerable.Repeat((byte)90, 8 * 8 * 8), await Get(uuid, "late_1", 8));
    }

    [Fact]
    public async Task Level_metadata_and_raw_keys_are_the_levels_own_and_blocks_too_large_for_a_pyramid_are_refused()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "m", new { BlockSize = "8,8,8", MaxDownresLevel = "1" });
        await Post(uuid, "m", new Point3(32, 32, 32), default, Random(32 * 32 * 32, 4));
        using var meta = await _c.GetJsonAsync($"/api/node/{uuid}/m_1/metadata");
        Assert.Equal([16, 16, 16], meta.RootElement.GetProperty("Axes").EnumerateArray().Select(a => a.GetProperty("Size").GetInt32()));
        using var k0 = await _c.GetJsonAsync($"/api/node/{uuid}/m/rawkey?x=0&y=0&z=0");
        using var k1 = await _c.GetJsonAsync($"/api/node/{uuid}/m_1/rawkey?x=0&y=0&z=0");
        Assert.NotEqual(k0.RootElement.GetProperty("Key").GetString(), k1.RootElement.GetProperty("Key").GetString());
        var r = await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "uint16blk", dataname = "big", BlockSize = "512,512,512", MaxDownresLevel = "1" }));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("too large for a pyramid", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Means_round_to_nearest_for_every_voxel_type()
    {
        var size = new Point3(1, 1, 1);
        byte[] Eight<T>(params T[] v) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
        var d8 = new byte[1];
        MeanDownsampling.MeanOf2x2x2(VoxelType.Uint8, Eight<byte>(255, 255, 255, 255, 255, 255, 255, 252), d8, size);
        Assert.Equal(255, d8[0]); // 2037/8 = 254.6
        var d16 = new byte[2];
        MeanDownsampling.MeanOf2x2x2(VoxelType.Uint16, Eight<ushort>(65535, 65535, 0, 0, 0, 0, 0, 3), d16, size);
        Assert.Equal(16384, BitConverter.ToUInt16(d16)); // 131073/8 = 16384.1
        var d64 = new byte[8];
        MeanDownsampling.MeanOf2x2x2(VoxelType.Uint64, Eight(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue - 3), d64, size);
        Assert.Equal(ulong.MaxValue, BitConverter.ToUInt64(d64)); // no overflow
        var df = new byte[4];
        MeanDownsampling.MeanOf2x2x2(VoxelType.Float32, Eight(1f, 2f, 3f, 4f, 5f, 6f, 7f, -0.5f), df, size);
        Assert.Equal(27.5f / 8, BitConverter.ToSingle(df));
    }
}
