using System.Net.Http.Headers;

namespace Diced.Bench;

/// <summary>
/// What authentication costs: a 1 MiB keyvalue GET and a 64³ uint8 block-aligned raw GET on servers with
/// authentication on (a bearer token and a role checked per request) against servers with it off, in the same
/// process and run. Two servers in one process differ by a few percent by position alone, so there are two pairs,
/// started in opposite orders, and the cost is the geometric mean of the two pairs' ratios.
/// </summary>
public static class AuthBench
{
    private const string Secret = "bench-secret-bench-secret-bench-secret-0123456789";
    private static readonly string[] AuthOn = ["--Diced:Auth:Enabled", "true", "--Diced:Auth:JwtSecret", Secret, "--Diced:AdminToken", "bench-admin"];

    public static async Task RunAsync()
    {
        var value = new byte[1 << 20];
        Random.Shared.NextBytes(value);
        var grey = new byte[64 * 64 * 64];
        Random.Shared.NextBytes(grey);
        var token = Diced.Server.Auth.AuthSetup.Mint(new Diced.Server.Auth.AuthSettings { JwtSecret = Secret }, "bench@lab.org");
        await using var off1 = await BenchServer.StartAsync(null, "--Diced:AdminToken", "bench-admin");
        await using var on1 = await BenchServer.StartAsync(null, AuthOn);
        await using var on2 = await BenchServer.StartAsync(null, AuthOn);
        await using var off2 = await BenchServer.StartAsync(null, "--Diced:AdminToken", "bench-admin");
        // Every client sends the same token, so the difference is the server's work only (sending a 200-byte header
        // costs the client and Kestrel a few percent of a small GET whether or not the server checks it).
        foreach (var s in new[] { off1, on1, on2, off2 }) s.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var repo = new Dictionary<BenchServer, string>();
        foreach (var s in new[] { off1, on1, on2, off2 })
        {
            // Creating repos needs a server admin: the admin token, for the setup only.
            var created = await s.Client.PostAsync("/api/repos?admintoken=bench-admin", new StringContent("{}"));
            var uuid = (await created.EnsureSuccessStatusCode().Content.ReadAsStringAsync()).Split('"')[3];
            await s.CreateInstanceAsync(uuid, "{\"typename\":\"keyvalue\",\"dataname\":\"kv\"}");
            await s.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"grey\"}");
            (await s.Client.PostAsync($"/api/node/{uuid}/kv/key/v", new ByteArrayContent(value))).EnsureSuccessStatusCode();
            (await s.Client.PostAsync($"/api/node/{uuid}/kv/key/tiny", new ByteArrayContent(new byte[16]))).EnsureSuccessStatusCode();
            (await s.Client.PostAsync($"/api/node/{uuid}/grey/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(grey))).EnsureSuccessStatusCode();
            repo[s] = uuid;
        }
        const int n = 200;
        foreach (var (name, path, bytes) in new[] { ("keyvalue GET 16 B (per-request cost)", "kv/key/tiny", 16L), ("keyvalue GET 1 MiB", "kv/key/v", (long)value.Length), ("raw GET 64^3 uint8", "grey/raw/0_1_2/64_64_64/0_0_0", (long)grey.Length) })
        {
            Task<double> Run(BenchServer s, int count) => s.GetThroughputAsync($"/api/node/{repo[s]}/{path}", bytes, count);
            foreach (var s in repo.Keys) await Run(s, 20);
            var (b1, c1, r1) = await Measure.RatioAsync(7, () => Run(off1, n), () => Run(on1, n));
            var (b2, c2, r2) = await Measure.RatioAsync(7, () => Run(off2, n), () => Run(on2, n));
            double ratio = Math.Sqrt(r1 * r2);
            if (bytes == 16) { Console.WriteLine($"{name}: auth on {bytes / ((c1 + c2) / 2):F0} us, off {bytes / ((b1 + b2) / 2):F0} us per request: {Math.Sqrt(r1 * r2):F3}x"); continue; }
            Console.WriteLine($"{name}: auth on {(c1 + c2) / 2,6:F0} MB/s, off {(b1 + b2) / 2,6:F0} MB/s: {ratio:F3}x ({(1 - ratio) * 100:F1}% cost; pairs {r1:F3}x and {r2:F3}x; {n} requests per round, median of 7)");
        }
    }
}
