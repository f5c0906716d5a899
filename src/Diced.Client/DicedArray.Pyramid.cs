using System.Text.Json;

namespace Diced.Client;

/// <summary>Image pyramids of <see cref="DicedArray"/>: how many levels the server keeps, and building them for data
/// written before they existed.</summary>
public sealed partial class DicedArray
{
    /// <summary>Coarser levels the server keeps current for this image array (<c>MaxDownresLevel</c>; 0 for none).</summary>
    public async Task<int> PyramidLevelsAsync(CancellationToken ct = default)
    {
        using var doc = await _repo.Connection.GetJsonAsync($"/api/node/{Version}/{Name}/info", ct);
        return doc.RootElement.GetProperty("Extended").TryGetProperty("MaxDownresLevel", out var m) ? m.GetInt32() : 0;
    }

    /// <summary>
    /// Makes the server keep levels 1..<paramref name="levels"/> of this image array (each the 2×2×2 mean of the one
    /// below, readable as <c>{name}_k</c>) and builds them over what is written, a layer of blocks per request, level
    /// by level. <paramref name="progress"/> gets blocks done and the total. Writes during the build keep the levels
    /// current themselves. Returns the blocks built.
    /// </summary>
    public async Task<long> BuildPyramidAsync(int levels, Action<long, long>? progress = null, CancellationToken ct = default)
    {
        if (IsNd || IsLabel) throw new DicedException($"\"{Name}\" is {(IsNd ? "an n-D array" : "a label array")}; pyramids are built for image arrays (label arrays keep theirs from MaxDownresLevel at creation)");
        if (Locked) throw new DicedException($"cannot build levels of \"{Name}\": version {Version} is locked; branch from it to write");
        if (levels is < 1 or > 10) throw new DicedException($"levels must be 1 to 10, not {levels}");
        // One read of the settings and extents (raising MaxDownresLevel changes no extents).
        using var info = await _repo.Connection.GetJsonAsync($"/api/node/{Version}/{Name}/info", ct);
        var e = info.RootElement.GetProperty("Extended");
        if ((e.TryGetProperty("MaxDownresLevel", out var m) ? m.GetInt32() : 0) < levels)
            using (var _ = await _repo.Connection.SendAsync(HttpMethod.Post, $"/api/node/{Version}/{Name}/info",
                       DvidConnection.Json(new Dictionary<string, string> { ["MaxDownresLevel"] = levels.ToString(System.Globalization.CultureInfo.InvariantCulture) }), ct: ct)) { }
        if (e.GetProperty("MinPoint").ValueKind != JsonValueKind.Array) return 0; // nothing written: writes will fill the levels
        int[] min = e.GetProperty("MinPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int[] max = e.GetProperty("MaxPoint").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int[] bs = [BlockSize.X, BlockSize.Y, BlockSize.Z];
        // Blocks of level k covering the extents, and the layers (one z of blocks, at most MaxBlocksPerRequest) to send.
        var plan = new List<(int Level, int[] First, int[] Last)>();
        for (int k = 1; k <= levels; k++)
        {
            var first = Enumerable.Range(0, 3).Select(d => FloorDiv(min[d] >> k, bs[d])).ToArray();
            var last = Enumerable.Range(0, 3).Select(d => FloorDiv(max[d] >> k, bs[d])).ToArray();
            int columns = Math.Min(last[0] - first[0] + 1, MaxBlocksPerRequest);
            int rowsPerRequest = Math.Max(1, MaxBlocksPerRequest / columns);
            for (int z = first[2]; z <= last[2]; z++)
                for (int y = first[1]; y <= last[1]; y += rowsPerRequest)
                    for (int x = first[0]; x <= last[0]; x += columns)
                        plan.Add((k, [x, y, z], [Math.Min(last[0], x + columns - 1), Math.Min(last[1], y + rowsPerRequest - 1), z]));
        }
        long total = plan.Sum(p => (long)(p.Last[0] - p.First[0] + 1) * (p.Last[1] - p.First[1] + 1)), done = 0;
        progress?.Invoke(0, total);
        foreach (var (k, first, last) in plan)
        {
            // The level-0 box these level-k blocks cover.
            var offset = Enumerable.Range(0, 3).Select(d => (first[d] * bs[d]) << k).ToArray();
            var size = Enumerable.Range(0, 3).Select(d => ((last[d] - first[d] + 1) * bs[d]) << k).ToArray();
            using var doc = await _repo.Connection.PostJsonAsync($"/api/node/{Version}/{Name}/downres/{k}/{string.Join("_", size)}/{string.Join("_", offset)}", new { }, ct);
            done += doc.RootElement.GetProperty("Blocks").GetInt64();
            progress?.Invoke(done, total);
        }
        return done;
    }

    /// <summary>The server's limit of blocks rebuilt per request.</summary>
    private const int MaxBlocksPerRequest = 4096;

    private static int FloorDiv(int a, int b) => (int)Math.Floor((double)a / b);
}
