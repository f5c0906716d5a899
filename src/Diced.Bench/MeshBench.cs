using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Diced.Codecs.Meshes;

namespace Diced.Bench;

/// <summary>
/// Generated meshes: time to build a body's mesh (first GET of <c>{body}.ngmesh</c>) and to serve it again from the
/// cache, against body voxel count, with the body's <c>sparsevol</c> GET in the same run as the baseline.
/// </summary>
public static class MeshBench
{
    public static async Task RunAsync()
    {
        const int n = 384;
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"labelmap\",\"dataname\":\"seg\"}");
        var radii = new (ulong Label, int R, int C)[] { (2UL, 6, 40), (3UL, 12, 80), (4UL, 24, 140), (5UL, 48, 240), (6UL, 96, 260) };
        Measure.Progress("writing balls of radius 6 to 96 into a 384^3 labelmap");
        var slab = new ulong[64 * n * n];
        var voxels = radii.ToDictionary(b => b.Label, _ => 0L);
        for (int z0 = 0; z0 < n; z0 += 64)
        {
            Array.Fill(slab, 1UL);
            for (int dz = 0; dz < 64; dz++)
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++)
                        foreach (var (label, r, c) in radii)
                        {
                            // Balls centred along the diagonal (the largest in the middle of the volume).
                            int cc = label == 6 ? n / 2 : c;
                            long ex = x - cc, ey = y - (label == 6 ? n / 2 : 60), ez = z0 + dz - (label == 6 ? n / 2 : c);
                            if (ex * ex + ey * ey + ez * ez < (long)r * r) { slab[((long)dz * n + y) * n + x] = label; voxels[label]++; break; }
                        }
            var r2 = await server.Client.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/{n}_{n}_64/0_0_{z0}", new ByteArrayContent(MemoryMarshal.AsBytes(slab.AsSpan()).ToArray()));
            if (r2.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException(await r2.Content.ReadAsStringAsync());
        }
        Measure.EndProgress();
        server.Settle();
        Console.WriteLine("(balls of label in a 384^3 labelmap; mesh = first GET {body}.ngmesh, built from the label index; cached = the same GET again)");
        foreach (var (label, r, _) in radii)
        {
            var url = $"/api/node/{uuid}/seg_meshes/key/{label}.ngmesh";
            var sw = Stopwatch.StartNew();
            var mesh = await server.Client.GetByteArrayAsync(url);
            double build = sw.Elapsed.TotalSeconds;
            sw.Restart();
            await server.Client.GetByteArrayAsync(url);
            double cached = sw.Elapsed.TotalSeconds;
            sw.Restart();
            await server.Client.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/{label}");
            double sparse = sw.Elapsed.TotalSeconds;
            int triangles = NgMesh.Decode(mesh).Indices.Length / 3;
            Console.WriteLine($"ball r={r,3} ({voxels[label],9:N0} voxels): mesh {build * 1000,7:F1} ms ({triangles,7:N0} triangles) = {build / sparse,5:F2}x its sparsevol GET ({sparse * 1000:F1} ms); cached {cached * 1000,5:F1} ms");
        }
    }
}
