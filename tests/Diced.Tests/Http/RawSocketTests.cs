using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>Bad bodies that only a real socket can send: lying Content-Length, connections cut mid-body.</summary>
public class RawSocketTests(LiveServerFixture f) : IClassFixture<LiveServerFixture>
{
    private readonly HttpClient _c = f.Server.Client;

    private async Task StillServing() => await (await _c.GetAsync("/api/server/info")).ExpectAsync(200);

    [Fact]
    public async Task Oversized_bodies_are_refused_before_reading()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        // Declares 4 GiB but sends a few bytes: the server must answer from the header alone.
        using var tcp = await RawHttp.SendAsync(f.Server.Port, "POST", $"/api/node/{uuid}/kv/key/huge", declaredLength: 4L << 30, new byte[16]);
        Assert.StartsWith("HTTP/1.1 413", tcp.StatusLine);
        Assert.Contains("exceeds this server's set limit", tcp.Body);
        Assert.Null(await _c.GetKeyAsync(uuid, "kv", "huge"));
        await StillServing();
    }

    [Fact]
    public async Task Truncated_bodies_store_nothing()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        using (await RawHttp.SendAsync(f.Server.Port, "POST", $"/api/node/{uuid}/kv/key/short", declaredLength: 1000, new byte[10], closeAfterBody: true)) { }
        await Task.Delay(200);
        Assert.Null(await _c.GetKeyAsync(uuid, "kv", "short"));
        await StillServing();
    }
}
