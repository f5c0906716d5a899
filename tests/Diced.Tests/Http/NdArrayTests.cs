using System.Net;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class NdArrayTests(ServerFixture f) : NdArraySpec(f.Client), IClassFixture<ServerFixture>;

/// <summary>The same behaviour with the server's store in S3 (Ceph radosgw).</summary>
[Collection(RadosGwCollection.Name)]
public class NdArrayTestsOnS3(RadosGwFixture rgw) : NdArraySpec(rgw.Server.Client);

/// <summary>The same behaviour with the server's store in GCS (the JSON API stand-in).</summary>
[Collection(GcsCollection.Name)]
public class NdArrayTestsOnGcs(GcsStandIn gcs) : NdArraySpec(gcs.Server.Client);

/// <summary>
/// The <c>ndarray</c> type over HTTP: DVID's n-D raw form, slices at fixed indices, partial chunks, versions and bad
/// input. Every read is checked against an in-test model of the array (<see cref="NdModel"/>).
/// </summary>
public abstract class NdArraySpec(HttpClient client)
{
    private readonly HttpClient _c = client;

    private async Task<string> RepoWith(string name, object config)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "ndarray", name, config);
        return uuid;
    }

    private static string Join(IEnumerable<int> v) => string.Join("_", v);

    private async Task Post(string uuid, string name, string dims, int[] size, int[] offset, byte[] body, int status = 200)
        => await (await _c.PostAsync($"/api/node/{uuid}/{name}/raw/{dims}/{Join(size)}/{Join(offset)}", new ByteArrayContent(body))).ExpectAsync(status);

    private async Task<byte[]> Get(string uuid, string name, string dims, int[] size, int[] offset)
    {
        var r = await (await _c.GetAsync($"/api/node/{uuid}/{name}/raw/{dims}/{Join(size)}/{Join(offset)}")).ExpectAsync(200);
        return await r.Content.ReadAsByteArrayAsync();
    }

    [Fact]
    public async Task Info_reports_rank_shape_chunks_axes_and_null_extents_before_any_write()
    {
        var uuid = await RepoWith("movie", new { VoxelType = "uint16", Shape = "40,30,20,6", BlockSize = "16,16,8,2", AxisNames = "x,y,z,t", AxisUnits = "nm,nm,nm,s", VoxelSize = "8,8,30,0.5" });
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/movie/info");
        var e = info.RootElement.GetProperty("Extended");
        Assert.Equal("ndarray", info.RootElement.GetProperty("Base").GetProperty("TypeName").GetString());
        Assert.Equal("uint16", e.GetProperty("VoxelType").GetString());
        Assert.Equal(4, e.GetProperty("Rank").GetInt32());
        Assert.Equal([40, 30, 20, 6], e.GetProperty("Shape").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal([16, 16, 8, 2], e.GetProperty("BlockSize").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(["x", "y", "z", "t"], e.GetProperty("AxisNames").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["nm", "nm", "nm", "s"], e.GetProperty("AxisUnits").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal([8f, 8f, 30f, 0.5f], e.GetProperty("VoxelSize").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal(JsonValueKind.Null, e.GetProperty("MinPoint").ValueKind);

        await Post(uuid, "movie", "0_1_2_3", [3, 2, 2, 1], [17, 1, 9, 5], new byte[24]);
        using var after = await _c.GetJsonAsync($"/api/node/{uuid}/movie/info");
        var a = after.RootElement.GetProperty("Extended");
        Assert.Equal([16, 0, 8, 4], a.GetProperty("MinPoint").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal([31, 15, 15, 5], a.GetProperty("MaxPoint").EnumerateArray().Select(v => v.GetInt32()));
    }

    [Fact]
    public async Task Overlapping_writes_at_any_alignment_read_back_as_the_model_in_every_box()
    {
        int[] shape = [23, 17, 9, 5];
        int[] chunk = [8, 5, 4, 2];
        var uuid = await RepoWith("a", new { VoxelType = "uint16", Shape = Join(shape).Replace('_', ','), BlockSize = Join(chunk).Replace('_', ',') });
        var model = new NdModel(shape, 2);
        var rng = new Random(5);
        for (int i = 0; i < 12; i++)
        {
            var (offset, size) = model.RandomBox(rng);
            var data = new byte[size.Aggregate(1, (p, n) => p * n) * 2];
            rng.NextBytes(data);
            await Post(uuid, "a", "0_1_2_3", size, offset, data);
            model.Write(offset, size, data);
        }
        Assert.Equal(model.Read([0, 0, 0, 0], shape), await Get(uuid, "a", "0_1_2_3", shape, [0, 0, 0, 0]));
        for (int i = 0; i < 10; i++)
        {
            var (offset, size) = model.RandomBox(rng);
            Assert.Equal(model.Read(offset, size), await Get(uuid, "a", "0_1_2_3", size, offset));
        }
    }

    [Fact]
    public async Task Slices_fix_the_unlisted_axes_at_their_offset_and_pack_the_listed_ones_first_fastest()
    {
        int[] shape = [12, 10, 6, 4];
        var uuid = await RepoWith("m", new { Shape = "12,10,6,4", BlockSize = "5,4,3,1" });
        var model = new NdModel(shape, 1);
        var all = new byte[12 * 10 * 6 * 4];
        new Random(2).NextBytes(all);
        await Post(uuid, "m", "0_1_2_3", shape, [0, 0, 0, 0], all);
        model.Write([0, 0, 0, 0], shape, all);
        // One time point as a 3-D volume.
        Assert.Equal(model.Read([1, 2, 0, 3], [11, 8, 6, 1]), await Get(uuid, "m", "0_1_2", [11, 8, 6], [1, 2, 0, 3]));
        // An x-t plane at fixed y and z, and a time course of one voxel.
        Assert.Equal(model.Read([0, 4, 5, 0], [12, 1, 1, 4]), await Get(uuid, "m", "0_3", [12, 4], [0, 4, 5, 0]));
        Assert.Equal(model.Read([7, 7, 2, 0], [1, 1, 1, 4]), await Get(uuid, "m", "3", [4], [7, 7, 2, 0]));
        // A slice can be written too: the y-z plane of one x and t keeps everything else.
        var plane = Enumerable.Range(0, 60).Select(i => (byte)(200 + i % 50)).ToArray();
        await Post(uuid, "m", "1_2", [10, 6], [3, 0, 0, 2], plane);
        model.Write([3, 0, 0, 2], [1, 10, 6, 1], plane);
        Assert.Equal(model.Read([0, 0, 0, 0], shape), await Get(uuid, "m", "0_1_2_3", shape, [0, 0, 0, 0]));
    }

    [Fact]
    public async Task Sizes_beyond_any_request_and_writes_touching_too_many_chunks_get_a_400()
    {
        var uuid = await RepoWith("huge", new { VoxelType = "uint64", BlockSize = "4,4,4" });
        async Task Bad(HttpResponseMessage r, string expect)
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(expect, await r.Content.ReadAsStringAsync());
        }
        // 2^61 elements of 8 bytes: the byte count wraps to 0, which once matched an empty body.
        await Bad(await _c.PostAsync($"/api/node/{uuid}/huge/raw/0_1_2/1073741824_1073741824_2/0_0_0", new ByteArrayContent([])), "more elements than any request may");
        await Bad(await _c.GetAsync($"/api/node/{uuid}/huge/raw/0_1_2/1073741824_1073741824_1073741824/-536870912_-536870912_-536870912"), "more elements than any request may");
        await Bad(await _c.GetAsync($"/api/node/{uuid}/huge/raw/0_1_2/1024_1024_1024/0_0_0"), "exceeds this DVID server's set limit");
        // A thin write across many chunks: 1 x 1028 x 1024 touches 257 x 256 chunks of 4³, more than 65,536.
        await Bad(await _c.PostAsync($"/api/node/{uuid}/huge/raw/0_1_2/1_1028_1024/0_0_0", new ByteArrayContent(new byte[1028 * 1024 * 8])), "a write may touch at most");
        var create = $"/api/repo/{uuid}/instance";
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "fat", VoxelType = "uint64", BlockSize = "1024,1024,256" })), "chunks of more than 256 MiB");
        using var nd = await _c.GetJsonAsync($"/api/node/{uuid}/huge/info");
        Assert.Equal(JsonValueKind.Null, nd.RootElement.GetProperty("Extended").GetProperty("MaxPoint").ValueKind);
    }

    [Fact]
    public async Task Concurrent_writers_of_the_same_chunks_never_lose_each_others_elements()
    {
        var uuid = await RepoWith("c", new { Shape = "16,16,4,2", BlockSize = "16,16,4,2" }); // one chunk
        // 32 writers, each one x-y row at its own (z, t): every write is a read-modify-write of the one chunk.
        await Parallel.ForEachAsync(Enumerable.Range(0, 32), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await Post(uuid, "c", "0_1", [16, 4], [0, i % 4 * 4, i / 4 % 4, i / 16], Enumerable.Repeat((byte)(i + 1), 64).ToArray()));
        var all = await Get(uuid, "c", "0_1_2_3", [16, 16, 4, 2], [0, 0, 0, 0]);
        for (int i = 0; i < 32; i++)
        {
            int start = ((i / 16 * 4 + i / 4 % 4) * 16 + i % 4 * 4) * 16;
            Assert.True(all.AsSpan(start, 64).ToArray().All(b => b == i + 1), $"writer {i}'s rows were lost");
        }
    }

    [Fact]
    public async Task Unbounded_arrays_take_negative_coordinates_and_read_unwritten_elements_as_zero()
    {
        var uuid = await RepoWith("u", new { VoxelType = "float32", BlockSize = "4,4,1,1,1" });
        var data = Enumerable.Range(0, 3 * 2 * 2 * 1 * 2).SelectMany(i => BitConverter.GetBytes(i * 0.5f)).ToArray();
        await Post(uuid, "u", "0_1_2_3_4", [3, 2, 2, 1, 2], [-2, -1, 7, 100, -3], data);
        var got = await Get(uuid, "u", "0_1_2_3_4", [5, 2, 2, 1, 2], [-4, -1, 7, 100, -3]);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(0f, BitConverter.ToSingle(got, (i * 5 + 0) * 4));
            Assert.Equal(0f, BitConverter.ToSingle(got, (i * 5 + 1) * 4));
            for (int x = 0; x < 3; x++) Assert.Equal((i * 3 + x) * 0.5f, BitConverter.ToSingle(got, (i * 5 + 2 + x) * 4));
        }
    }

    [Fact]
    public async Task A_locked_version_keeps_its_elements_and_a_child_sees_them_under_its_own_writes()
    {
        var uuid = await RepoWith("v", new { Shape = "8,8,8,2", BlockSize = "4,4,4,1" });
        var first = Enumerable.Repeat((byte)1, 8 * 8 * 8 * 2).ToArray();
        await Post(uuid, "v", "0_1_2_3", [8, 8, 8, 2], [0, 0, 0, 0], first);
        await _c.CommitAsync(uuid);
        await Post(uuid, "v", "0_1_2_3", [1, 1, 1, 1], [0, 0, 0, 0], [9], 400);
        var child = await _c.NewVersionAsync(uuid);
        await Post(child, "v", "0_1_2", [2, 2, 2], [3, 3, 3, 1], Enumerable.Repeat((byte)7, 8).ToArray());
        Assert.Equal(first, await Get(uuid, "v", "0_1_2_3", [8, 8, 8, 2], [0, 0, 0, 0]));
        var seen = await Get(child, "v", "0_1_2", [8, 8, 8], [0, 0, 0, 1]);
        Assert.Equal(8, seen.Count(b => b == 7));
        Assert.Equal(8 * 8 * 8 - 8, seen.Count(b => b == 1));
        Assert.Equal(Enumerable.Repeat((byte)1, 512), await Get(child, "v", "0_1_2", [8, 8, 8], [0, 0, 0, 0]));
    }

    [Fact]
    public async Task Bad_requests_get_a_clear_400_and_store_nothing()
    {
        var uuid = await RepoWith("b", new { Shape = "16,16,16,4", BlockSize = "8,8,8,1" });
        async Task Bad(HttpResponseMessage r, string expect)
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(expect, await r.Content.ReadAsStringAsync());
        }
        var url = $"/api/node/{uuid}/b/raw";
        await Bad(await _c.GetAsync($"{url}/0_1_2_3_4/1_1_1_1_1/0_0_0_0_0"), "names dimension 4");
        await Bad(await _c.GetAsync($"{url}/0_1_x/1_1_1/0_0_0_0"), "Unknown data shape");
        await Bad(await _c.GetAsync($"{url}/1_0/1_1/0_0_0_0"), "ascending order");
        await Bad(await _c.GetAsync($"{url}/0_1_2/1_1/0_0_0_0"), "underscore-separated");
        await Bad(await _c.GetAsync($"{url}/0_1_2/1_1_1/0_0_0"), "4 underscore-separated");
        await Bad(await _c.GetAsync($"{url}/0_1_2_3/16_16_16_5/0_0_0_0"), "outside the shape");
        await Bad(await _c.GetAsync($"{url}/0_1_2_3/1_1_1_1/0_0_-1_0"), "outside the shape");
        await Bad(await _c.GetAsync($"{url}/0_1_2_3/1_1_1_1/0_0_0_0?compression=jpeg"), "unknown compression");
        await Bad(await _c.PostAsync($"{url}/0_1_2_3/2_2_2_2/0_0_0_0", new ByteArrayContent(new byte[15])), "expected 16 bytes");
        await Bad(await _c.PostAsync($"{url}/0_1_2_3/2_2_2_2/0_0_0_0", new ByteArrayContent(new byte[17])), "expected 16 bytes");
        await Bad(await _c.PostAsync($"{url}/0_1_2_3/2_2_2_2/15_0_0_0", new ByteArrayContent(new byte[16])), "outside the shape");
        var create = $"/api/repo/{uuid}/instance";
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "r9", BlockSize = "1,1,1,1,1,1,1,1,1" })), "1 to 8 dimensions");
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "norank" })), "needs its rank");
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "mm", Shape = "4,4,4", BlockSize = "2,2" })), "Shape has 3 dimensions");
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "vt", Shape = "4", VoxelType = "int7" })), "VoxelType must be one of");
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "big", BlockSize = "1024,1024,1024,2" })), "voxels per chunk");
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "nm", Shape = "4,4", AxisNames = "x,x" })), "must differ");
        await Bad(await _c.PostAsync(create, DvidClient.Json(new { typename = "ndarray", dataname = "jp", Shape = "4,4", Compression = "jpeg" })), "not supported");
        using var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Single(info.RootElement.GetProperty("DataInstances").EnumerateObject());
        using var nd = await _c.GetJsonAsync($"/api/node/{uuid}/b/info");
        Assert.Equal(JsonValueKind.Null, nd.RootElement.GetProperty("Extended").GetProperty("MaxPoint").ValueKind);
    }
}

/// <summary>A plain in-memory n-D array (dimension 0 fastest) that tests compare the server against.</summary>
public sealed class NdModel(int[] shape, int bytesPerElement)
{
    private readonly byte[] _data = new byte[shape.Aggregate(1, (p, n) => p * n) * bytesPerElement];

    private long OffsetOf(int[] at)
    {
        long o = 0, stride = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            o += at[d] * stride;
            stride *= shape[d];
        }
        return o * bytesPerElement;
    }

    /// <summary>Every element position of a box, in packed order.</summary>
    private static IEnumerable<int[]> Positions(int[] offset, int[] size)
    {
        var i = new int[size.Length];
        while (true)
        {
            yield return i.Select((v, d) => offset[d] + v).ToArray();
            int d = 0;
            for (; d < size.Length; d++)
            {
                if (++i[d] < size[d]) break;
                i[d] = 0;
            }
            if (d == size.Length) yield break;
        }
    }

    public void Write(int[] offset, int[] size, byte[] packed)
    {
        int k = 0;
        foreach (var p in Positions(offset, size))
        {
            Array.Copy(packed, k, _data, OffsetOf(p), bytesPerElement);
            k += bytesPerElement;
        }
    }

    public byte[] Read(int[] offset, int[] size)
    {
        var r = new List<byte>();
        foreach (var p in Positions(offset, size)) r.AddRange(_data.AsSpan((int)OffsetOf(p), bytesPerElement).ToArray());
        return r.ToArray();
    }

    public (int[] Offset, int[] Size) RandomBox(Random rng)
    {
        var offset = shape.Select(n => rng.Next(n)).ToArray();
        var size = offset.Select((o, d) => rng.Next(1, shape[d] - o + 1)).ToArray();
        return (offset, size);
    }
}
