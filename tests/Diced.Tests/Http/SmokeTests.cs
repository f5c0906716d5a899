using System.Text.Json;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class ServerEndpointTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    [Fact]
    public async Task Server_info_values_are_all_strings()
    {
        using var doc = await _c.GetJsonAsync("/api/server/info?u=&app=");
        foreach (var key in new[] { "Cores", "Maximum Cores", "Datastore Version", "DVID Version", "Storage backend", "Server time", "Server uptime", "Host", "Note" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), $"missing {key}");
        foreach (var p in doc.RootElement.EnumerateObject())
            Assert.Equal(JsonValueKind.String, p.Value.ValueKind);
        Assert.Contains("rocksdb", doc.RootElement.GetProperty("Storage backend").GetString());
    }
}
