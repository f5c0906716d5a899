using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Processes;

/// <summary>
/// Version-DAG operations that touch many keys and nodes, against one repo, recording what the server acknowledged:
/// rounds of two branches writing keys of a keyvalue, committed and merged (every other round both write one key and
/// a resolve settles it by the first parent), a key written on the child and the child committed as the next base;
/// every third round a throwaway leaf is written, committed and deleted. Meanwhile, ndarray writes of boxes of 8
/// chunks on an open branch, each slot's box disjoint from the others' and rewritten with a new value each time round.
/// Checked by <see cref="CheckAsync"/> after every restart.
/// </summary>
public sealed class DagWorkload(string root, string ndNode, string baseNode)
{
    public const string Kv = "kv", Nd = "nd";
    public const int Chunk = 16, Box = 24, Slots = 8 * 8 * 2;

    private string _base = baseNode;
    private int _round;

    /// <summary>Merge children acknowledged, with the parents' keys each must see (and the value of "shared" for resolves).</summary>
    public ConcurrentDictionary<string, (string A, string B, string? Shared)> Merged { get; } = new();
    public ConcurrentBag<string> Deleted { get; } = new();
    /// <summary>Per slot, the values written in order, and how many of them were acknowledged (one writer, so in order).</summary>
    private readonly List<byte>[] _ndSent = Enumerable.Range(0, Slots).Select(_ => new List<byte>()).ToArray();
    private readonly int[] _ndAcknowledged = new int[Slots];
    private int _ndWrites;
    public int NdAcknowledged;

    public static async Task<DagWorkload> SetUpAsync(HttpClient c)
    {
        var root = await c.CreateRepoAsync("crash-dag");
        await c.CreateInstanceAsync(root, "keyvalue", Kv);
        await c.CreateInstanceAsync(root, "ndarray", Nd, new { VoxelType = "uint8", BlockSize = $"{Chunk},{Chunk},{Chunk}" });
        await c.PutKeyAsync(root, Kv, "shared", "\"root\""u8.ToArray());
        await c.CommitAsync(root);
        var nd = await c.BranchAsync(root, "nd");
        return new DagWorkload(root, nd, root);
    }

    /// <summary>Runs DAG rounds until the server stops answering or <paramref name="stop"/> is cancelled.</summary>
    public async Task RunDagAsync(HttpClient c, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested) await RoundAsync(c, Interlocked.Increment(ref _round));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException) { }
    }

    private async Task RoundAsync(HttpClient c, int i)
    {
        string tag = $"{Environment.TickCount64:x}-{i}";
        var a = await c.BranchAsync(_base, $"a{tag}");
        var b = await c.BranchAsync(_base, $"b{tag}");
        await c.PutKeyAsync(a, Kv, $"a{i}", JsonSerializer.SerializeToUtf8Bytes($"A{i}"));
        await c.PutKeyAsync(b, Kv, $"b{i}", JsonSerializer.SerializeToUtf8Bytes($"B{i}"));
        bool resolve = i % 2 == 0;
        if (resolve)
        {
            await c.PutKeyAsync(a, Kv, "shared", JsonSerializer.SerializeToUtf8Bytes($"a{i}"));
            await c.PutKeyAsync(b, Kv, "shared", JsonSerializer.SerializeToUtf8Bytes($"b{i}"));
        }
        await c.CommitAsync(a);
        await c.CommitAsync(b);
        var r = resolve
            ? await c.PostAsync($"/api/repo/{root}/resolve", DvidClient.Json(new { data = new[] { Kv }, parents = new[] { a, b }, note = "r" }))
            : await c.PostAsync($"/api/repo/{root}/merge", DvidClient.Json(new { mergeType = "conflict-free", parents = new[] { a, b }, note = "m" }));
        var child = await r.ChildAsync();
        Merged[child] = (a, b, resolve ? $"a{i}" : null);
        await c.PutKeyAsync(child, Kv, $"c{i}", JsonSerializer.SerializeToUtf8Bytes($"C{i}"));
        await c.CommitAsync(child);
        _base = child;
        if (i % 3 == 0)
        {
            var d = await c.BranchAsync(child, $"d{tag}");
            await c.PutKeyAsync(d, Kv, $"d{i}", JsonSerializer.SerializeToUtf8Bytes($"D{i}"));
            await c.CommitAsync(d);
            await (await c.DeleteAsync($"/api/node/{d}?imsure=true")).ExpectAsync(200);
            Deleted.Add(d);
        }
    }

    /// <summary>The box of ndarray slot <paramref name="slot"/>: 24³ voxels across 2×2×2 chunks, disjoint from every other slot's.</summary>
    public static (int X, int Y, int Z) BoxOf(int slot) => (8 + 32 * (slot % 8), 8 + 32 * (slot / 8 % 8), 8 + 32 * (slot / 64));

    /// <summary>Writes ndarray boxes slot after slot, each time with the next value, until stopped.</summary>
    public async Task RunNdAsync(HttpClient c, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                int n = _ndWrites++, slot = n % Slots;
                byte value = (byte)(1 + n % 251);
                var (x, y, z) = BoxOf(slot);
                _ndSent[slot].Add(value);
                var body = Enumerable.Repeat(value, Box * Box * Box).ToArray();
                await (await c.PostAsync($"/api/node/{ndNode}/{Nd}/raw/0_1_2/{Box}_{Box}_{Box}/{x}_{y}_{z}", new ByteArrayContent(body))).ExpectAsync(200);
                _ndAcknowledged[slot] = _ndSent[slot].Count;
                NdAcknowledged++;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException) { }
    }

    /// <summary>What disagrees after a restart: merges seen half-made, acknowledged merges or deletions lost, torn or lost ndarray writes.</summary>
    public async Task<List<string>> CheckAsync(HttpClient c)
    {
        var problems = new List<string>();
        using var info = await c.GetJsonAsync($"/api/repo/{root}/info");
        var nodes = info.RootElement.GetProperty("DAG").GetProperty("Nodes").EnumerateObject().ToDictionary(n => n.Name, n => n.Value.Clone());
        var uuidOf = nodes.ToDictionary(n => n.Value.GetProperty("VersionID").GetUInt32(), n => n.Key);
        foreach (var (child, _) in Merged)
            if (!nodes.ContainsKey(child)) problems.Add($"acknowledged merge child {child} is gone");
        foreach (var d in Deleted)
            if (nodes.ContainsKey(d)) problems.Add($"acknowledged deletion of {d} undone");
        // Every merge child in the DAG, acknowledged or not, sees every key of each parent (the resolved key: the first parent's).
        foreach (var (uuid, node) in nodes)
        {
            var parents = node.GetProperty("Parents").EnumerateArray().Select(p => uuidOf[p.GetUInt32()]).ToList();
            if (parents.Count < 2) continue;
            var mine = await KeysAsync(c, uuid);
            for (int p = 0; p < parents.Count; p++)
                foreach (var (k, v) in await KeysAsync(c, parents[p]))
                {
                    if (!mine.TryGetValue(k, out var got)) problems.Add($"merge child {uuid} lacks key {k} of parent {parents[p]}");
                    else if (got != v && (k != "shared" || p == 0)) problems.Add($"merge child {uuid} has {k}={got}, parent {parents[p]} {v}");
                }
            if (Merged.TryGetValue(uuid, out var m) && m.Shared is { } shared && mine.GetValueOrDefault("shared") != $"\"{shared}\"")
                problems.Add($"resolve child {uuid} has shared={mine.GetValueOrDefault("shared")}, expected {shared}");
        }
        // Each slot's box holds one value throughout: its last acknowledged one or one sent after it (or none, if none was acknowledged).
        var (sx, sy, sz) = (8 + 32 * 8, 8 + 32 * 8, 8 + 32 * (Slots / 64));
        var r = await c.GetAsync($"/api/node/{ndNode}/{Nd}/raw/0_1_2/{sx}_{sy}_{sz}/0_0_0");
        if (r.StatusCode != HttpStatusCode.OK) { problems.Add($"ndarray read: {(int)r.StatusCode}"); return problems; }
        var all = await r.Content.ReadAsByteArrayAsync();
        for (int slot = 0; slot < Slots; slot++)
        {
            var (x0, y0, z0) = BoxOf(slot);
            var found = new HashSet<byte>();
            for (int z = z0; z < z0 + Box; z++)
                for (int y = y0; y < y0 + Box; y++)
                    for (int x = x0; x < x0 + Box; x++)
                        found.Add(all[((long)z * sy + y) * sx + x]);
            int acked = _ndAcknowledged[slot];
            var allowed = _ndSent[slot].Skip(Math.Max(0, acked - 1)).ToHashSet();
            if (acked == 0) allowed.Add(0);
            if (found.Count != 1 || !allowed.Contains(found.First()))
                problems.Add($"ndarray slot {slot}: values {string.Join(",", found)} found, {string.Join(",", allowed)} allowed ({acked} of {_ndSent[slot].Count} writes acknowledged)");
        }
        return problems;
    }

    private static async Task<Dictionary<string, string>> KeysAsync(HttpClient c, string uuid)
    {
        using var doc = await c.GetJsonAsync($"/api/node/{uuid}/{Kv}/keyrangevalues/0/~?json=true");
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
    }
}
