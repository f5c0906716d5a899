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
}
