using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Regressions;

/// <summary>
/// Issue 11, defect 3: during concurrent merges and cleaves, <c>GET mapping</c> answered 0 for an existing supervoxel
/// and <c>size/{sv}?supervoxels=true</c> 404, because the lookup read the mapping and the index in two steps.
/// </summary>
public class Issue11_reads_see_mutations_whole(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    [Fact]
    public async Task Supervoxel_lookups_never_miss_during_merges_and_cleaves()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "labelmap", "seg", new { BlockSize = "32,32,32" });
        var labels = new ulong[64 * 32 * 32];
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(1 + i % 64 / 8); // supervoxels 1..8, 8192 voxels each
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_32_32/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        var url = $"/api/node/{uuid}/seg";
        await (await _c.PostAsync($"{url}/merge", DvidClient.Json(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }))).ExpectAsync(200);

        using var done = new CancellationTokenSource();
        var mutator = Task.Run(async () =>
        {
            try
            {
                // Supervoxels 2..8 move between body 1 and new bodies over and over.
                for (int round = 0; round < 100; round++)
                {
                    var cleave = await _c.PostAsync($"{url}/cleave/1", DvidClient.Json(new[] { 2, 3, 4, 5, 6, 7, 8 }));
                    using var doc = JsonDocument.Parse(await (await cleave.ExpectAsync(200)).Content.ReadAsStringAsync());
                    var body = doc.RootElement.GetProperty("CleavedLabel").GetUInt64();
                    await (await _c.PostAsync($"{url}/merge", DvidClient.Json(new[] { 1UL, body }))).ExpectAsync(200);
                }
            }
            finally { done.Cancel(); }
        });
        int lookups = 0, sizes = 0;
        var misses = new System.Collections.Concurrent.ConcurrentBag<string>();
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(async () =>
        {
            var rng = new Random(r);
            while (!done.IsCancellationRequested)
            {
                var m = await _c.SendAsync(HttpMethod.Get, $"{url}/mapping", DvidClient.Json(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
                var bodies = JsonSerializer.Deserialize<ulong[]>(await (await m.ExpectAsync(200)).Content.ReadAsStringAsync())!;
                Interlocked.Increment(ref lookups);
                if (bodies.Contains(0UL)) misses.Add($"mapping answered [{string.Join(",", bodies)}]");
                int sv = rng.Next(1, 9);
                var s = await _c.GetAsync($"{url}/size/{sv}?supervoxels=true");
                Interlocked.Increment(ref sizes);
                if (s.StatusCode != HttpStatusCode.OK) misses.Add($"size/{sv}?supervoxels=true answered {(int)s.StatusCode}");
                else
                {
                    using var doc = JsonDocument.Parse(await s.Content.ReadAsStringAsync());
                    if (doc.RootElement.GetProperty("voxels").GetInt64() != 8192) misses.Add($"size/{sv} answered {doc.RootElement}");
                }
            }
        })).ToArray();
        await mutator;
        await Task.WhenAll(readers);
        Assert.True(lookups > 20, $"only {lookups} lookups ran");
        Assert.True(misses.IsEmpty, $"{misses.Count} of {lookups + sizes} reads missed: {string.Join("; ", misses.Take(5))}");
    }

    [Fact]
    public async Task A_volume_read_never_sees_half_of_a_write()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "uint8blk", "grey", new { BlockSize = "32,32,32" });
        var url = $"/api/node/{uuid}/grey/raw/0_1_2/128_128_128/0_0_0";
        await (await _c.PostAsync(url, new ByteArrayContent(new byte[128 * 128 * 128]))).ExpectAsync(200);
        using var done = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            try
            {
                // Each write sets all 64 blocks to one value; a read must see one value throughout.
                for (int v = 1; v <= 40; v++)
                {
                    var body = new byte[128 * 128 * 128];
                    Array.Fill(body, (byte)v);
                    await (await _c.PostAsync(url, new ByteArrayContent(body))).ExpectAsync(200);
                }
            }
            finally { done.Cancel(); }
        });
        int reads = 0, torn = 0;
        while (!done.IsCancellationRequested)
        {
            var voxels = await (await _c.GetAsync(url)).Content.ReadAsByteArrayAsync();
            reads++;
            if (voxels.AsSpan().IndexOfAnyExcept(voxels[0]) >= 0) torn++;
        }
        await writer;
        Assert.True(reads > 5, $"only {reads} reads ran");
        Assert.Equal(0, torn);
    }
}
