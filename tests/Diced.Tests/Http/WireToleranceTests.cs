using System.Net;
using System.Text;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>What real clients send: JSON under any Content-Type, GET with bodies, <c>?u=&amp;app=</c>, HEAD.</summary>
public class WireToleranceTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task Json_bodies_are_read_whatever_the_content_type(string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"alias\":\"ct\"}"));
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        await (await _c.PostAsync("/api/repos", content)).ExpectAsync(200);
    }

    [Fact]
    public async Task Every_get_route_tolerates_u_and_app_and_answers_head()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await _c.PutKeyAsync(uuid, "kv", "k", [1]);
        string[] urls =
        [
            "/api/server/info", "/api/server/types", "/api/server/compiled-types", "/api/server/note", "/api/heartbeat", "/api/help",
            "/api/help/keyvalue", "/api/repos/info", $"/api/repo/{uuid}/info", $"/api/repo/{uuid}/log",
            $"/api/repo/{uuid}/branch-versions/master", $"/api/node/{uuid}/status", $"/api/node/{uuid}/commit",
            $"/api/node/{uuid}/note", $"/api/node/{uuid}/log", $"/api/node/{uuid}/kv/info", $"/api/node/{uuid}/kv/help",
            $"/api/node/{uuid}/kv/tags", $"/api/node/{uuid}/kv/key/k", $"/api/node/{uuid}/kv/keys", $"/api/node/{uuid}/kv/keyrange/a/z",
            $"/api/node/{uuid}/kv/keyrangevalues/a/z",
        ];
        foreach (var url in urls)
        {
            await (await _c.GetAsync(url + "?u=&app=")).ExpectAsync(200);
            await (await _c.GetAsync(url + "?u=tester&app=Neuroglancer&interactive=false")).ExpectAsync(200);
            var head = await (await _c.SendAsync(HttpMethod.Head, url + "?u=&app=")).ExpectAsync(200);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Gets_with_a_body_are_accepted()
    {
        var uuid = await _c.CreateRepoAsync();
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/repo/{uuid}/info?u=&app=") { Content = DvidClient.Text("{\"ignored\":true}") };
        await (await _c.SendAsync(req)).ExpectAsync(200);
    }

    [Fact]
    public async Task Unknown_routes_and_wrong_methods_are_404_with_a_body()
    {
        var r = await _c.GetAsync("/api/nothing/here");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("404 page not found\n", await r.Content.ReadAsStringAsync());
        var wrong = await _c.PutAsync("/api/server/info", DvidClient.Text(""));
        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
        Assert.Equal("404 page not found\n", await wrong.Content.ReadAsStringAsync());
        var uuid = await _c.CreateRepoAsync();
        await (await _c.DeleteAsync($"/api/repo/{uuid}/log")).ExpectAsync(400); // a DELETE of instance "log": no such instance
        Assert.Equal(HttpStatusCode.NotFound, (await _c.PutAsync($"/api/repo/{uuid}/log", DvidClient.Text(""))).StatusCode);
    }

    [Fact]
    public async Task Web_viewer_is_served_at_the_root()
    {
        var r = await (await _c.GetAsync("/")).ExpectAsync(200);
        Assert.Equal("text/html", r.Content.Headers.ContentType!.MediaType);
    }
}
