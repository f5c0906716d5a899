using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>POST info (DVID's modifyConfig) on volume types, and POST sync (issue 13).</summary>
public class InstanceConfigTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    [Fact]
    public async Task Post_info_changes_voxel_size_units_and_extents_and_refuses_what_would_break_data()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg", new { BlockSize = "32,32,32", MaxDownresLevel = "1" });
        var r = await _c.PostAsync($"/api/node/{uuid}/seg/info", DvidClient.Json(new { VoxelSize = "4,4,40", VoxelUnits = "nanometers", MinPoint = "0,0,0", MaxPoint = "99,99,9" }));
        Assert.StartsWith("Changed 'seg' based on received configuration:", await (await r.ExpectAsync(200)).Content.ReadAsStringAsync());
        using (var info = await _c.GetJsonAsync($"/api/node/{uuid}/seg/info"))
        {
            var ext = info.RootElement.GetProperty("Extended");
            Assert.Equal([4.0, 4.0, 40.0], ext.GetProperty("VoxelSize").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal([99, 99, 9], info.RootElement.GetProperty("Extents").GetProperty("MaxPoint").EnumerateArray().Select(e => e.GetInt32()));
        }
        // Lowering the pyramid is fine before data; raising it after data is written is refused, as is a new block size.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/32_32_32/0_0_0", new ByteArrayContent(new byte[32 * 32 * 32 * 8]))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/info", DvidClient.Json(new { MaxDownresLevel = "3" }))).ExpectErrorAsync(400, "cannot rise");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/info", DvidClient.Json(new { BlockSize = "64,64,64" }))).ExpectErrorAsync(400, "BlockSize cannot change");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/info", DvidClient.Json(new { VoxelSize = "-1,2,3" }))).ExpectErrorAsync(400, "positive");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/info", DvidClient.Json(new { VoxelSize = 5 }))).ExpectErrorAsync(400, "not a string");
        using var after = await _c.GetJsonAsync($"/api/node/{uuid}/seg/info");
        Assert.Equal(1, after.RootElement.GetProperty("Extended").GetProperty("MaxDownresLevel").GetInt32());
    }

    [Fact]
    public async Task Sync_records_validated_names_and_replace_clears_them()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelblk", "labels");
        await _c.CreateInstanceAsync(uuid, "labelblk", "labels-2x");
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await (await _c.PostAsync($"/api/node/{uuid}/labels-2x/sync", DvidClient.Json(new { sync = "labels" }))).ExpectAsync(200);
        using (var info = await _c.GetJsonAsync($"/api/node/{uuid}/labels-2x/info"))
            Assert.Equal(["labels"], info.RootElement.GetProperty("Base").GetProperty("Syncs").EnumerateArray().Select(e => e.GetString()));
        await (await _c.PostAsync($"/api/node/{uuid}/labels-2x/sync", DvidClient.Json(new { sync = "kv" }))).ExpectErrorAsync(400, "cannot sync with");
        await (await _c.PostAsync($"/api/node/{uuid}/labels-2x/sync", DvidClient.Json(new { sync = "nosuch" }))).ExpectErrorAsync(400, "invalid data instance name");
        await (await _c.PostAsync($"/api/node/{uuid}/labels-2x/sync", DvidClient.Json(new { sync = "labels-2x" }))).ExpectErrorAsync(400, "itself");
        await (await _c.PostAsync($"/api/node/{uuid}/labels-2x/sync", DvidClient.Json(new { other = "x" }))).ExpectErrorAsync(400, "'sync'");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/sync", DvidClient.Json(new { sync = "labels" }))).ExpectErrorAsync(400, "not syncable");
        await (await _c.PostAsync($"/api/node/{uuid}/labels-2x/sync?replace=true", DvidClient.Json(new { sync = "" }))).ExpectAsync(200);
        using (var info = await _c.GetJsonAsync($"/api/node/{uuid}/labels-2x/info"))
            Assert.Equal(0, info.RootElement.GetProperty("Base").GetProperty("Syncs").GetArrayLength());
    }
}
