using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Codecs.Meshes;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>
/// Meshes Neuroglancer can draw (issue 15): every labelmap has a generated <c>{name}_meshes</c> keyvalue instance whose
/// <c>{body}.ngmesh</c> is built from the body's voxels, rebuilt when the body changes; uploads win.
/// </summary>
public class GeneratedMeshTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A 64³ labelmap "seg": a 20³ cube of label 7 at 10..29, a 10×10×10 cube of label 8 at 40..49, the rest 1.</summary>
    private async Task<string> SetUpAsync()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[64 * 64 * 64];
        for (int z = 0; z < 64; z++) for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++)
            labels[(z * 64 + y) * 64 + x] = In(x, y, z, 10, 30) ? 7UL : In(x, y, z, 40, 50) ? 8UL : 1UL;
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        return uuid;
    }

    private static bool In(int x, int y, int z, int lo, int hi) => x >= lo && x < hi && y >= lo && y < hi && z >= lo && z < hi;

    private async Task<(float[] Xyz, uint[] Indices)> MeshAsync(string uuid, ulong body, string instance = "seg_meshes")
        => NgMesh.Decode(await _c.GetByteArrayAsync($"/api/node/{uuid}/{instance}/key/{body}.ngmesh"));

    /// <summary>Min and max of each axis, in voxels (vertices are nanometres at the default 8 nm voxels).</summary>
    private static (float[] Min, float[] Max) Bounds(float[] xyz)
    {
        var min = new[] { float.MaxValue, float.MaxValue, float.MaxValue };
        var max = new[] { float.MinValue, float.MinValue, float.MinValue };
        for (int i = 0; i < xyz.Length; i++) { min[i % 3] = Math.Min(min[i % 3], xyz[i] / 8); max[i % 3] = Math.Max(max[i % 3], xyz[i] / 8); }
        return (min, max);
    }

    /// <summary>A closed, consistently oriented surface: every edge a→b is matched by as many b→a.</summary>
    private static void AssertClosed(uint[] indices)
    {
        var directed = new Dictionary<(uint, uint), int>();
        for (int t = 0; t < indices.Length; t += 3)
            for (int k = 0; k < 3; k++)
            {
                var e = (indices[t + k], indices[t + (k + 1) % 3]);
                directed[e] = directed.GetValueOrDefault(e) + 1;
            }
        Assert.All(directed, kv => Assert.Equal(kv.Value, directed.GetValueOrDefault((kv.Key.Item2, kv.Key.Item1))));
    }

    [Fact]
    public async Task A_cube_body_gets_a_closed_mesh_inside_its_bounds()
    {
        var uuid = await SetUpAsync();
        var (xyz, indices) = await MeshAsync(uuid, 7);
        Assert.Equal(20 * 20 * 6 * 2, indices.Length / 3); // two triangles per voxel face of the cube's surface
        AssertClosed(indices);
        var (min, max) = Bounds(xyz);
        for (int a = 0; a < 3; a++)
        {
            Assert.InRange(min[a], 10f, 11f); // smoothing rounds the corners inwards, never outwards
            Assert.InRange(max[a], 29f, 30f);
        }
        // Neuroglancer finds the source in the repo's instances and Diced says it is generated.
        using var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        var meshes = info.RootElement.GetProperty("DataInstances").GetProperty("seg_meshes").GetProperty("Base");
        Assert.Equal("keyvalue", meshes.GetProperty("TypeName").GetString());
        Assert.Equal("seg", meshes.GetProperty("Syncs")[0].GetString());
        Assert.True(meshes.GetProperty("Tags").TryGetProperty("diced-generated", out _));
        using var own = await _c.GetJsonAsync($"/api/node/{uuid}/seg_meshes/info");
        Assert.Equal("seg_meshes", own.RootElement.GetProperty("Base").GetProperty("Name").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/seg_meshes/key/7.ngmesh"))).StatusCode);
        await (await _c.GetAsync($"/api/node/{uuid}/seg_meshes/key/99.ngmesh")).ExpectErrorAsync(404);
        await (await _c.GetAsync($"/api/node/{uuid}/seg_meshes/key/readme")).ExpectErrorAsync(404);
        Assert.Equal(HttpStatusCode.NotFound, (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/seg_meshes/key/99.ngmesh"))).StatusCode);
    }

    [Fact]
    public async Task Meshes_follow_voxel_writes_merges_and_cleaves()
    {
        var uuid = await SetUpAsync();
        var before = Bounds((await MeshAsync(uuid, 7)).Xyz);
        Assert.InRange(before.Max[0], 29f, 30f);
        // Grow the cube along x into a block it did not touch: the mesh must grow with it.
        var slab = Enumerable.Repeat(7UL, 10 * 20 * 20).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/10_20_20/30_10_10", new ByteArrayContent(MemoryMarshal.AsBytes(slab.AsSpan()).ToArray()))).ExpectAsync(200);
        Assert.InRange(Bounds((await MeshAsync(uuid, 7)).Xyz).Max[0], 39f, 40f);
        // Merge 8 into 7: the mesh covers both; 8 has none any more.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text("[7, 8]"))).ExpectAsync(200);
        var merged = await MeshAsync(uuid, 7);
        Assert.InRange(Bounds(merged.Xyz).Max[1], 49f, 50f);
        AssertClosed(merged.Indices);
        await (await _c.GetAsync($"/api/node/{uuid}/seg_meshes/key/8.ngmesh")).ExpectErrorAsync(404);
        // Cleave 8's supervoxel back off.
        var r = await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/7", DvidClient.Text("[8]"))).ExpectAsync(200);
        ulong cleaved = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("CleavedLabel").GetUInt64();
        Assert.InRange(Bounds((await MeshAsync(uuid, 7)).Xyz).Max[1], 29f, 30f);
        Assert.InRange(Bounds((await MeshAsync(uuid, cleaved)).Xyz).Min[1], 40f, 41f);
        // A write that swaps voxels within blocks the body already covers keeps its counts but moves its surface.
        var hole = Enumerable.Repeat(1UL, 4 * 4 * 4).ToArray();
        var fill = Enumerable.Repeat(7UL, 4 * 4 * 4).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/4_4_4/10_10_10", new ByteArrayContent(MemoryMarshal.AsBytes(hole.AsSpan()).ToArray()))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/4_4_4/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(fill.AsSpan()).ToArray()))).ExpectAsync(200);
        Assert.InRange(Bounds((await MeshAsync(uuid, 7)).Xyz).Min[0], 0f, 1f);
    }

    [Fact]
    public async Task An_upload_makes_the_instance_real_and_wins_while_other_bodies_are_still_built()
    {
        var uuid = await SetUpAsync();
        var mine = NgMesh.Encode([0, 0, 0, 8, 0, 0, 0, 8, 0], [0, 1, 2]);
        await (await _c.PostAsync($"/api/node/{uuid}/seg_meshes/key/7.ngmesh", new ByteArrayContent(mine))).ExpectAsync(200);
        using (var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info"))
        {
            var meshes = info.RootElement.GetProperty("DataInstances").GetProperty("seg_meshes").GetProperty("Base");
            Assert.Equal(JsonValueKind.Null, meshes.GetProperty("Tags").ValueKind); // a plain keyvalue instance now
        }
        Assert.Equal(mine, await _c.GetByteArrayAsync($"/api/node/{uuid}/seg_meshes/key/7.ngmesh"));
        Assert.Equal(["7.ngmesh"], JsonSerializer.Deserialize<string[]>(await _c.GetStringAsync($"/api/node/{uuid}/seg_meshes/keys")));
        Assert.Equal(10 * 10 * 6 * 2, (await MeshAsync(uuid, 8)).Indices.Length / 3);
        await (await _c.GetAsync($"/api/node/{uuid}/seg_meshes/key/99.ngmesh")).ExpectErrorAsync(404);
    }
}
