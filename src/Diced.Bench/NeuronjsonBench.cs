using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Diced.Server.Wire;

namespace Diced.Bench;

/// <summary>
/// neuronjson queries over 100,000 annotated bodies, against a plain <c>keyvalues</c> GET (JSON) of the same documents
/// stored in a keyvalue instance, in the same run.
/// </summary>
public static class NeuronjsonBench
{
    private const int Bodies = 100_000;
    private static readonly string[] Statuses = ["Anchor", "Traced", "Roughly traced", "Prelim Roughly traced", "Orphan"];
    private static readonly string[] Classes = ["LC4", "LPLC2", "T4", "T5", "Mi1", "Tm3", "Dm8", "L1", "L2", "C3"];

    public static async Task RunAsync()
    {
        await using var server = await BenchServer.StartAsync();
        var uuid = await server.CreateRepoAsync();
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"neuronjson\",\"dataname\":\"ann\"}");
        await server.CreateInstanceAsync(uuid, "{\"typename\":\"keyvalue\",\"dataname\":\"kv\"}");
        var rng = new Random(15);
        var docs = new List<(string Key, byte[] Value)>(Bodies);
        for (int i = 0; i < Bodies; i++)
        {
            ulong body = 10_000_000UL + (ulong)i * 7;
            var doc = new SortedDictionary<string, object>(StringComparer.Ordinal)
            {
                ["bodyid"] = body, ["status"] = Statuses[rng.Next(Statuses.Length)], ["class"] = Classes[rng.Next(Classes.Length)],
                ["instance"] = $"{Classes[rng.Next(Classes.Length)]}_{(rng.Next(2) == 0 ? "L" : "R")}", ["soma_side"] = rng.Next(2) == 0 ? "LHS" : "RHS",
                ["position"] = new[] { rng.Next(40000), rng.Next(40000), rng.Next(40000) }, ["notes"] = $"checked by proofreader {rng.Next(50)}",
            };
            docs.Add((body.ToString(), JsonSerializer.SerializeToUtf8Bytes(doc)));
        }
        Measure.Progress("posting 100,000 annotations");
        var sw = Stopwatch.StartNew();
        foreach (var chunk in docs.Chunk(10_000))
        {
            await server.PostAsync($"/api/node/{uuid}/ann/keyvalues?u=bench", KeyValueMessages.EncodeKeyValues(chunk));
            await server.PostAsync($"/api/node/{uuid}/kv/keyvalues", KeyValueMessages.EncodeKeyValues(chunk));
        }
        double post = sw.Elapsed.TotalSeconds;
        Measure.EndProgress();
        server.Settle();

        var allKeys = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(docs.Select(d => d.Key)));
        async Task<double> Time(string url, byte[] body, HttpMethod method)
        {
            var t = Stopwatch.StartNew();
            using var r = await server.Client.SendAsync(new HttpRequestMessage(method, url) { Content = new ByteArrayContent(body) }, HttpCompletionOption.ResponseHeadersRead);
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{url}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            await (await r.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
            return t.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"({Bodies:N0} annotations of 7 fields each; posted through keyvalues, 10,000 per request, at {Bodies / post:N0} annotations/s incl. the keyvalue copy)");
        var queries = new (string Name, string Json)[]
        {
            ("one field, 20% match", """{"status":"Anchor"}"""),
            ("AND of two, lists", """{"status":["Anchor","Traced"],"class":["LC4","LPLC2"]}"""),
            ("regex", """{"instance":"re/^LC4_"}"""),
            ("OR of two objects, exists", """[{"class":"T4","soma_side":"LHS"},{"notes":"exists/0"}]"""),
        };
        foreach (var (name, json) in queries)
        {
            int matches = JsonDocument.Parse(await (await server.Client.PostAsync($"/api/node/{uuid}/ann/query?onlyid=true", new StringContent(json))).Content.ReadAsStringAsync()).RootElement.GetArrayLength();
            var (kv, q, ratio) = await Measure.RatioAsync(5,
                () => Time($"/api/node/{uuid}/kv/keyvalues?json=true", allKeys, HttpMethod.Get),
                () => Time($"/api/node/{uuid}/ann/query", Encoding.UTF8.GetBytes(json), HttpMethod.Post));
            Console.WriteLine($"query {name,-28} ({matches,6:N0} matches): {q * 1000,6:F0} ms = {ratio:F2}x the time of GET keyvalues?json=true of all {Bodies:N0} documents ({kv * 1000:F0} ms)");
        }
    }
}
