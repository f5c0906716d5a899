using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Diced.Datastore.Types.Labels;
using Diced.Tests.Infrastructure;
using Diced.Codecs.SparseVolumes;

namespace Diced.Tests.Processes;

/// <summary>
/// A random stream of label changes against one labelmap (voxel writes, merges, cleaves, supervoxel splits) and of
/// whole-box image writes, and element posts, moves and deletes on an annotation synced to the labelmap (with a labelsz
/// synced to it), recording what the server acknowledged. Run by several workers at once until the server
/// is killed under them.
/// </summary>
public sealed class LabelWorkload(string uuid)
{
    public const string Labels = "seg", Grey = "grey", Synapses = "syn", Sizes = "sz";
    private static readonly string[] Kinds = ["PreSyn", "PostSyn", "Note"];
    public static readonly (int X, int Y, int Z) Size = (128, 128, 64);
    public const int BlockSize = 32, FirstPoolLabel = 1, LastPoolLabel = 60;

    /// <summary>Mutation ids the server acknowledged.</summary>
    public ConcurrentBag<ulong> Mutations { get; } = new();

    /// <summary>Every label id ever written or handed out (so the checker can look for stale indices).</summary>
    public ConcurrentDictionary<ulong, bool> LabelsSeen { get; } = new(Enumerable.Range(FirstPoolLabel, LastPoolLabel).ToDictionary(i => (ulong)i, _ => true));

    /// <summary>Values of the whole-box image writes, in the order sent; the last acknowledged index.</summary>
    public List<byte> GreyValuesSent { get; } = new();
    public int LastGreyAcknowledged { get; private set; } = -1;

    public int Acknowledged;

    /// <summary>Creates the instances and a first segmentation: 24 supervoxels in slabs, some merged into bodies.</summary>
    public static async Task<string> SetUpAsync(HttpClient c)
    {
        var uuid = await c.CreateRepoAsync("crash-labels");
        await c.CreateInstanceAsync(uuid, "labelmap", Labels, new { BlockSize = $"{BlockSize},{BlockSize},{BlockSize}", MaxDownresLevel = "1" });
        await c.CreateInstanceAsync(uuid, "uint8blk", Grey, new { BlockSize = $"{BlockSize},{BlockSize},{BlockSize}", MaxDownresLevel = "1" });
        var voxels = new byte[Size.X * Size.Y * Size.Z * 8];
        var labels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(voxels.AsSpan());
        for (int z = 0; z < Size.Z; z++)
            for (int y = 0; y < Size.Y; y++)
                for (int x = 0; x < Size.X; x++)
                    labels[(z * Size.Y + y) * Size.X + x] = (ulong)(1 + (x / 24) + 6 * ((y + z) / 48));
        await (await c.PostAsync($"/api/node/{uuid}/{Labels}/raw/0_1_2/{Size.X}_{Size.Y}_{Size.Z}/0_0_0", new ByteArrayContent(voxels))).ExpectAsync(200);
        for (ulong a = 1; a <= 8; a += 2)
            await (await c.PostAsync($"/api/node/{uuid}/{Labels}/merge", DvidClient.Json(new[] { a, a + 1 }))).ExpectAsync(200);
        await c.CreateInstanceAsync(uuid, "annotation", Synapses);
        await (await c.PostAsync($"/api/node/{uuid}/{Synapses}/sync", DvidClient.Json(new { sync = Labels }))).ExpectAsync(200);
        await c.CreateInstanceAsync(uuid, "labelsz", Sizes);
        await (await c.PostAsync($"/api/node/{uuid}/{Sizes}/sync", DvidClient.Json(new { sync = Synapses }))).ExpectAsync(200);
        var rng = new Random(7);
        var elements = Enumerable.Range(0, 400).Select(_ => new { Pos = new[] { rng.Next(Size.X), rng.Next(Size.Y), rng.Next(Size.Z) }, Kind = Kinds[rng.Next(Kinds.Length)] });
        await (await c.PostAsync($"/api/node/{uuid}/{Synapses}/elements", DvidClient.Json(elements))).ExpectAsync(200);
        return uuid;
    }

    /// <summary>Sends random changes until the server stops answering or <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(HttpClient c, int seed, bool withGrey, CancellationToken stop)
    {
        var rng = new Random(seed);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                switch (withGrey ? -1 : rng.Next(6))
                {
                    case 0 or 1: await WriteVoxelsAsync(c, rng); break;
                    case 2: await MergeAsync(c, rng); break;
                    case 3: if (rng.Next(2) == 0) await CleaveAsync(c, rng); else await SplitSupervoxelAsync(c, rng); break;
                    case 4 or 5: await ChangeElementsAsync(c, rng); break;
                    default: await WriteGreyAsync(c); break;
                }
            }
            catch (HttpRequestException) { return; }
            catch (TaskCanceledException) { return; }
            catch (IOException) { return; }
            // A kill while the client connects surfaces as a bare SocketException ("Transport endpoint is not connected"),
            // not wrapped in HttpRequestException: the server is gone either way.
            catch (System.Net.Sockets.SocketException) { return; }
        }
    }

    private static (int X, int Y, int Z) RandomPoint(Random rng) => (rng.Next(Size.X), rng.Next(Size.Y), rng.Next(Size.Z));

    private async Task WriteVoxelsAsync(HttpClient c, Random rng)
    {
        int w = rng.Next(4, 48), h = rng.Next(4, 48), d = rng.Next(4, 40);
        int x0 = rng.Next(Size.X - w), y0 = rng.Next(Size.Y - h), z0 = rng.Next(Size.Z - d);
        var pool = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => (ulong)rng.Next(FirstPoolLabel, LastPoolLabel + 1)).ToArray();
        var voxels = new byte[w * h * d * 8];
        for (int i = 0, z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++, i++)
                    BinaryPrimitives.WriteUInt64LittleEndian(voxels.AsSpan(8 * i), pool[x * pool.Length / w]);
        var r = await c.PostAsync($"/api/node/{uuid}/{Labels}/raw/0_1_2/{w}_{h}_{d}/{x0}_{y0}_{z0}", new ByteArrayContent(voxels));
        if (r.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref Acknowledged);
    }

    private async Task<ulong> LabelAtAsync(HttpClient c, (int X, int Y, int Z) p, bool supervoxels)
    {
        using var doc = await c.GetJsonAsync($"/api/node/{uuid}/{Labels}/label/{p.X}_{p.Y}_{p.Z}{(supervoxels ? "?supervoxels=true" : "")}");
        return doc.RootElement.GetProperty("Label").GetUInt64();
    }

    private async Task MergeAsync(HttpClient c, Random rng)
    {
        ulong a = await LabelAtAsync(c, RandomPoint(rng), false), b = await LabelAtAsync(c, RandomPoint(rng), false);
        if (a == 0 || b == 0 || a == b) return;
        await RecordMutationAsync(await c.PostAsync($"/api/node/{uuid}/{Labels}/merge", DvidClient.Json(new[] { a, b })));
    }

    private async Task CleaveAsync(HttpClient c, Random rng)
    {
        ulong body = await LabelAtAsync(c, RandomPoint(rng), false);
        if (body == 0) return;
        var r = await c.GetAsync($"/api/node/{uuid}/{Labels}/supervoxels/{body}");
        if (r.StatusCode != HttpStatusCode.OK) return;
        var svs = JsonSerializer.Deserialize<ulong[]>(await r.Content.ReadAsStringAsync())!;
        if (svs.Length < 2) return;
        await RecordMutationAsync(await c.PostAsync($"/api/node/{uuid}/{Labels}/cleave/{body}", DvidClient.Json(svs.Take(svs.Length / 2))), "CleavedLabel");
    }

    private async Task SplitSupervoxelAsync(HttpClient c, Random rng)
    {
        var p = RandomPoint(rng);
        ulong sv = await LabelAtAsync(c, p, true);
        if (sv == 0) return;
        var runs = new List<Run>();
        for (int z = p.Z; z < Math.Min(Size.Z, p.Z + 6); z++)
            for (int y = p.Y; y < Math.Min(Size.Y, p.Y + 6); y++)
                runs.Add(new Run(p.X, y, z, Math.Min(6, Size.X - p.X)));
        await RecordMutationAsync(await c.PostAsync($"/api/node/{uuid}/{Labels}/split-supervoxel/{sv}", new ByteArrayContent(SparseVolume.EncodeRuns(runs))),
            "SplitSupervoxel", "RemainSupervoxel");
    }

    /// <summary>Posts a few elements, or moves or deletes one found near a random point.</summary>
    private async Task ChangeElementsAsync(HttpClient c, Random rng)
    {
        var url = $"/api/node/{uuid}/{Synapses}";
        HttpResponseMessage r;
        if (rng.Next(2) == 0)
        {
            var elements = Enumerable.Range(0, rng.Next(1, 20)).Select(_ => RandomPoint(rng)).Select(p => new { Pos = new[] { p.X, p.Y, p.Z }, Kind = Kinds[rng.Next(Kinds.Length)] });
            r = await c.PostAsync($"{url}/elements", DvidClient.Json(elements));
        }
        else
        {
            var p = RandomPoint(rng);
            using var found = JsonDocument.Parse(await c.GetStringAsync($"{url}/elements/32_32_32/{Math.Max(0, p.X - 16)}_{Math.Max(0, p.Y - 16)}_{Math.Max(0, p.Z - 16)}"));
            if (found.RootElement.ValueKind != JsonValueKind.Array || found.RootElement.GetArrayLength() == 0) return;
            var pos = found.RootElement[0].GetProperty("Pos");
            var from = $"{pos[0]}_{pos[1]}_{pos[2]}";
            var to = RandomPoint(rng);
            r = rng.Next(2) == 0 ? await c.DeleteAsync($"{url}/element/{from}") : await c.PostAsync($"{url}/move/{from}/{to.X}_{to.Y}_{to.Z}", DvidClient.Text(""));
        }
        if (r.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref Acknowledged);
    }

    private async Task RecordMutationAsync(HttpResponseMessage r, params string[] newLabels)
    {
        if (r.StatusCode != HttpStatusCode.OK) return;
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Mutations.Add(doc.RootElement.GetProperty("MutationID").GetUInt64());
        foreach (var name in newLabels) LabelsSeen[doc.RootElement.GetProperty(name).GetUInt64()] = true;
        Interlocked.Increment(ref Acknowledged);
    }

    /// <summary>Writes 8 whole blocks with one value: after any crash the box must hold one value throughout.</summary>
    private async Task WriteGreyAsync(HttpClient c)
    {
        byte value;
        int index;
        lock (GreyValuesSent)
        {
            index = GreyValuesSent.Count;
            value = (byte)(1 + index % 250);
            GreyValuesSent.Add(value);
        }
        var body = new byte[64 * 64 * 64];
        Array.Fill(body, value);
        var r = await c.PostAsync($"/api/node/{uuid}/{Grey}/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(body));
        if (r.StatusCode == HttpStatusCode.OK)
        {
            LastGreyAcknowledged = index;
            Interlocked.Increment(ref Acknowledged);
        }
    }
}
