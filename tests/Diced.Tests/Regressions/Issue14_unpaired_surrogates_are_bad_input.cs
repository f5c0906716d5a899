using System.Net;
using System.Text;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Regressions;

/// <summary>
/// Issue 14: a JSON string with an unpaired surrogate escape ("\ud800") parses in System.Text.Json but cannot become a
/// .NET string; reading it threw InvalidOperationException, answered as a 500. Annotation JSON now reads it as Go's
/// decoder does (U+FFFD), and every other JSON body refuses it with a 400.
/// </summary>
public class Issue14_unpaired_surrogates_are_bad_input(LiveServerFixture f) : IClassFixture<LiveServerFixture>
{
    private readonly HttpClient _c = f.Server.Client;

    private static StringContent Body(string json) => new(json, Encoding.UTF8);

    [Fact]
    public async Task Annotation_elements_with_one_are_stored_as_Go_would_store_them()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        var r = await _c.PostAsync($"/api/node/{uuid}/syn/elements", Body("[{\"Pos\":[1,2,3],\"Kind\":\"Note\",\"Tags\":[\"t\\ud800\"],\"Prop\":{\"\\udfff\":\"v\"}}]"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("[{\"Pos\":[1,2,3],\"Kind\":\"Note\",\"Tags\":[\"t\uFFFD\"],\"Prop\":{\"\uFFFD\":\"v\"}}]",
            await _c.GetStringAsync($"/api/node/{uuid}/syn/tag/t%EF%BF%BD"));
    }

    [Fact]
    public async Task Other_JSON_bodies_with_one_get_a_400_and_change_nothing()
    {
        var uuid = await _c.CreateRepoAsync();
        var r = await _c.PostAsync($"/api/repo/{uuid}/instance", Body("{\"typename\":\"keyvalue\",\"dataname\":\"k\\ud800\"}"));
        await r.ExpectErrorAsync(400, "Malformed JSON");
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        r = await _c.PostAsync($"/api/node/{uuid}/syn/labels", Body("{\"7\":\"\\ud800\"}"));
        Assert.Equal(400, (int)r.StatusCode);
        Assert.DoesNotContain("\"k", await _c.GetStringAsync($"/api/repo/{uuid}/info"));
    }
}
