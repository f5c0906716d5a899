using System.Formats.Tar;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>The tarsupervoxels datatype (issue 15): a file per supervoxel, a tar per body that never leaves one out.</summary>
public class TarsupervoxelsTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>A labelmap "seg" of one 64³ block whose z-slab z holds supervoxel z + 1; "blobs" (extension dat) synced to it.</summary>
    private async Task<string> SetUpAsync()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var labels = new ulong[64 * 64 * 64];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i / (64 * 64));
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        await _c.CreateInstanceAsync(uuid, "tarsupervoxels", "blobs", new { Extension = "dat" });
        await (await _c.PostAsync($"/api/node/{uuid}/blobs/sync", DvidClient.Json(new { sync = "seg" }))).ExpectAsync(200);
        return uuid;
    }

    private static string Data(ulong sv) => $"This is the data for supervoxel {sv}.";

    private static byte[] Tar(IEnumerable<(string Name, string Content)> files)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Ustar, leaveOpen: true))
            foreach (var (name, content) in files)
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        return ms.ToArray();
    }

    private async Task LoadAsync(string uuid, IEnumerable<ulong> svs)
        => await (await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(Tar(svs.Select(sv => ($"{sv}.dat", Data(sv))))))).ExpectAsync(200);

    private async Task<List<(string Name, string Content)>> TarfileAsync(string uuid, ulong body)
    {
        var r = await (await _c.GetAsync($"/api/node/{uuid}/blobs/tarfile/{body}")).ExpectAsync(200);
        Assert.Equal("application/tar", r.Content.Headers.ContentType?.MediaType);
        using var reader = new TarReader(await r.Content.ReadAsStreamAsync());
        var list = new List<(string, string)>();
        while (reader.GetNextEntry() is { } e)
            list.Add((e.Name, e.DataStream is null ? "" : new StreamReader(e.DataStream).ReadToEnd()));
        return list;
    }

    private async Task<int> HeadAsync(string uuid, ulong body)
        => (int)(await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/blobs/tarfile/{body}"))).StatusCode;

    private async Task<string> ExistsAsync(string uuid, string json)
        => await (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/blobs/exists") { Content = DvidClient.Text(json) })).Content.ReadAsStringAsync();

    [Fact]
    public async Task DVIDs_own_test_scenario_gives_DVIDs_answers()
    {
        var uuid = await SetUpAsync();
        await LoadAsync(uuid, Enumerable.Range(1, 63).Where(i => i != 15).Select(i => (ulong)i));
        await (await _c.PostAsync($"/api/node/{uuid}/blobs/supervoxel/64", DvidClient.Text(Data(64)))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text("[30,10,15,18,19,20,21,64]"))).ExpectAsync(200);

        Assert.Equal(400, await HeadAsync(uuid, 80)); // no such body
        Assert.Equal(400, await HeadAsync(uuid, 10)); // merged away
        Assert.Equal(200, await HeadAsync(uuid, 60));
        Assert.Equal(400, await HeadAsync(uuid, 30)); // 15 has no file
        Assert.Equal("[15]", await _c.GetStringAsync($"/api/node/{uuid}/blobs/missing/30"));
        Assert.Equal("[false,true,true]", await ExistsAsync(uuid, "[81, 10, 60]"));
        var tar = await TarfileAsync(uuid, 30);
        Assert.Equal(["10.dat", "15.missing", "18.dat", "19.dat", "20.dat", "21.dat", "30.dat", "64.dat"], tar.Select(t => t.Name));
        Assert.All(tar.Where(t => t.Name.EndsWith(".dat")), t => Assert.Equal(Data(ulong.Parse(t.Name.Split('.')[0])), t.Content));
        Assert.Equal(Data(17), await _c.GetStringAsync($"/api/node/{uuid}/blobs/supervoxel/17"));

        await LoadAsync(uuid, [15]);
        Assert.Equal(200, await HeadAsync(uuid, 30));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/blobs/missing/30"));
        await (await _c.GetAsync($"/api/node/{uuid}/blobs/tarfile/10")).ExpectErrorAsync(400, "label 10 has no supervoxels");
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/blobs/info");
        Assert.Equal("dat", info.RootElement.GetProperty("Extended").GetProperty("Extension").GetString());
        Assert.Equal("seg", info.RootElement.GetProperty("Base").GetProperty("Syncs")[0].GetString());
    }

    [Fact]
    public async Task Tarfile_missing_and_HEAD_agree_with_the_body_across_merges_and_cleaves()
    {
        var uuid = await SetUpAsync();
        var rng = new Random(15);
        await LoadAsync(uuid, Enumerable.Range(1, 64).Where(_ => rng.Next(4) != 0).Select(i => (ulong)i));
        int merges = 0, cleaves = 0;
        ulong lastTarget = 1;
        for (int step = 0; step < 12; step++)
        {
            if (step % 3 == 2)
            {
                // Cleave a few supervoxels off a body that has several.
                var body = lastTarget;
                var found = await _c.GetAsync($"/api/node/{uuid}/seg/supervoxels/{body}");
                if (found.StatusCode != HttpStatusCode.OK) continue;
                var svs = JsonDocument.Parse(await found.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Select(e => e.GetUInt64()).ToList();
                if (svs.Count < 2) continue;
                await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/{body}", DvidClient.Text($"[{svs[^1]}]"))).ExpectAsync(200);
                cleaves++;
            }
            else
            {
                var (a, b) = ((ulong)rng.Next(1, 65), (ulong)rng.Next(1, 65));
                if ((await _c.PostAsync($"/api/node/{uuid}/seg/merge", DvidClient.Text($"[{a},{b}]"))).StatusCode == HttpStatusCode.OK) { merges++; lastTarget = a; } // merged-away ids are refused
            }
            if (step == 6) await (await _c.DeleteAsync($"/api/node/{uuid}/blobs/supervoxel/{rng.Next(1, 65)}")).ExpectAsync(200);
            // Every body: the tar lists exactly its supervoxels, a ".missing" member exactly for each supervoxel without a file.
            for (ulong body = 1; body < 80; body++)
            {
                var r = await _c.GetAsync($"/api/node/{uuid}/seg/supervoxels/{body}");
                if (r.StatusCode != HttpStatusCode.OK) { Assert.Equal(400, await HeadAsync(uuid, body)); continue; }
                using var svsDoc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
                var svs = svsDoc.RootElement.EnumerateArray().Select(e => e.GetUInt64()).Order().ToList();
                var tar = await TarfileAsync(uuid, body);
                Assert.Equal(svs, tar.Select(t => ulong.Parse(t.Name.Split('.')[0])));
                var missing = tar.Where(t => t.Name.EndsWith(".missing")).Select(t => ulong.Parse(t.Name.Split('.')[0])).ToList();
                using var m = await _c.GetJsonAsync($"/api/node/{uuid}/blobs/missing/{body}");
                Assert.Equal(missing, m.RootElement.EnumerateArray().Select(e => e.GetUInt64()));
                Assert.Equal(missing.Count == 0 ? 200 : 400, await HeadAsync(uuid, body));
                var exists = await ExistsAsync(uuid, JsonSerializer.Serialize(svs));
                Assert.Equal("[" + string.Join(",", svs.Select(sv => missing.Contains(sv) ? "false" : "true")) + "]", exists);
            }
        }
        Assert.True(merges >= 4 && cleaves >= 1, $"{merges} merges, {cleaves} cleaves");
    }

    [Fact]
    public async Task Files_are_versioned_and_locked_nodes_refuse_changes()
    {
        var uuid = await SetUpAsync();
        await LoadAsync(uuid, [1]);
        await _c.CommitAsync(uuid);
        await (await _c.PostAsync($"/api/node/{uuid}/blobs/supervoxel/2", DvidClient.Text("x"))).ExpectErrorAsync(400, "locked");
        var child = await _c.NewVersionAsync(uuid);
        await (await _c.PostAsync($"/api/node/{child}/blobs/supervoxel/2", DvidClient.Text("child's"))).ExpectAsync(200);
        await (await _c.DeleteAsync($"/api/node/{child}/blobs/supervoxel/1")).ExpectAsync(200);
        Assert.Equal("child's", await _c.GetStringAsync($"/api/node/{child}/blobs/supervoxel/2"));
        await (await _c.GetAsync($"/api/node/{uuid}/blobs/supervoxel/2")).ExpectErrorAsync(404, "Supervoxel 2 not found");
        Assert.Equal(Data(1), await _c.GetStringAsync($"/api/node/{uuid}/blobs/supervoxel/1"));
        await (await _c.GetAsync($"/api/node/{child}/blobs/supervoxel/1")).ExpectErrorAsync(404);
        // An empty file is a file.
        await (await _c.PostAsync($"/api/node/{child}/blobs/supervoxel/3", new ByteArrayContent([]))).ExpectAsync(200);
        Assert.Equal("[true]", await ExistsAsync(child, "[3]"));
        Assert.Equal("", await _c.GetStringAsync($"/api/node/{child}/blobs/supervoxel/3"));
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_400_and_stores_nothing()
    {
        var uuid = await SetUpAsync();
        async Task Refused(HttpResponseMessage r, string contains) => await r.ExpectErrorAsync(400, contains);
        // A tar whose second member is misnamed stores nothing, not even the first.
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(Tar([("5.dat", "five"), ("six.dat", "six")]))), "file 2 name is invalid");
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(Tar([("7.drc", "seven")]))), "bad extension (expect \"dat\")");
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(Tar([("0.dat", "zero")]))), "supervoxel 0 is reserved");
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(Tar([("dir/8.dat", "x")]))), "name is invalid");
        var good = Tar([("9.dat", "nine")]);
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(good[..600])), "corrupt tar");
        var garbage = Enumerable.Range(0, 1024).Select(i => (byte)(i * 7 + 1)).ToArray();
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(garbage)), "corrupt tar");
        Assert.Equal("[false,false,false]", await ExistsAsync(uuid, "[5,7,9]"));

        await Refused(await _c.GetAsync($"/api/node/{uuid}/blobs/supervoxel/abc"), "invalid syntax");
        await Refused(await _c.GetAsync($"/api/node/{uuid}/blobs/supervoxel/18446744073709551616"), "value out of range");
        await Refused(await _c.PostAsync($"/api/node/{uuid}/blobs/supervoxel/0", DvidClient.Text("x")), "Supervoxel 0 is protected");
        await Refused(await _c.GetAsync($"/api/node/{uuid}/blobs/tarfile/0"), "Label 0 is protected");
        await Refused(await _c.GetAsync($"/api/node/{uuid}/blobs/missing/-1"), "invalid syntax");
        await Refused(await _c.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/blobs/exists") { Content = DvidClient.Text("[1,-2]") }), "Bad exists request JSON");
        await Refused(await _c.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/blobs/exists?hash=00") { Content = DvidClient.Text("[1]") }), "content hash incorrect");
        await LoadAsync(uuid, [1]);
        var md5 = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("[1]"u8));
        Assert.Equal("[true]", await (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/blobs/exists?hash={md5}") { Content = DvidClient.Text("[1]") })).Content.ReadAsStringAsync());

        // Creation needs an extension; syncs only to labelmaps; an unsynced instance names what it lacks.
        await Refused(await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "tarsupervoxels", dataname = "noext" })), "must have Extension");
        await Refused(await _c.PostAsync($"/api/repo/{uuid}/instance", DvidClient.Json(new { typename = "tarsupervoxels", dataname = "slash", Extension = "a/b" })), "Extension");
        await _c.CreateInstanceAsync(uuid, "tarsupervoxels", "loose", new { Extension = "drc" });
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await Refused(await _c.PostAsync($"/api/node/{uuid}/loose/sync", DvidClient.Json(new { sync = "kv" })), "cannot sync");
        await Refused(await _c.PostAsync($"/api/node/{uuid}/loose/sync", DvidClient.Json(new { sync = "nothere" })), "nothere");
        await Refused(await _c.GetAsync($"/api/node/{uuid}/loose/tarfile/1"), "not synced with any labelmap");
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/loose/info");
        Assert.Equal(0, info.RootElement.GetProperty("Base").GetProperty("Syncs").GetArrayLength());
    }

    [Fact]
    public async Task Changing_the_extension_renames_the_members()
    {
        var uuid = await SetUpAsync();
        await LoadAsync(uuid, [1]);
        var r = await (await _c.PostAsync($"/api/node/{uuid}/blobs/info", DvidClient.Json(new { Extension = "drc" }))).ExpectAsync(200);
        Assert.Equal("Changed 'blobs' based on received configuration:\n{map[extension:drc]}\n", await r.Content.ReadAsStringAsync());
        Assert.Equal(["1.drc"], (await TarfileAsync(uuid, 1)).Select(t => t.Name));
        await (await _c.PostAsync($"/api/node/{uuid}/blobs/load", new ByteArrayContent(Tar([("2.drc", "two")])))).ExpectAsync(200);
        Assert.Equal("two", await _c.GetStringAsync($"/api/node/{uuid}/blobs/supervoxel/2"));
    }
}
