using System.Formats.Tar;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Diced.Server.Wire;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

/// <summary>The neuronjson datatype (issue 15): body annotations with per-field user and time, merges, queries.</summary>
public class NeuronjsonTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    private async Task<string> RepoAsync()
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "neuronjson", "ann");
        return uuid;
    }

    private async Task PostAsync(string uuid, ulong body, string json, string user = "tester", string query = "")
        => await (await _c.PostAsync($"/api/node/{uuid}/ann/key/{body}?u={user}{query}", DvidClient.Text(json))).ExpectAsync(200);

    private async Task<JsonElement> GetAsync(string uuid, ulong body, string query = "")
        => JsonDocument.Parse(await _c.GetStringAsync($"/api/node/{uuid}/ann/key/{body}{query}")).RootElement;

    private static string[] Names(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    private async Task<string> QueryAsync(string uuid, string query, string options = "", HttpMethod? method = null)
    {
        var r = await _c.SendAsync(new HttpRequestMessage(method ?? HttpMethod.Post, $"/api/node/{uuid}/ann/query{options}") { Content = DvidClient.Text(query) });
        return await (await r.ExpectAsync(200)).Content.ReadAsStringAsync();
    }

    private static ulong[] Ids(string json) => JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.GetProperty("bodyid").GetUInt64()).ToArray();

    private static readonly Regex Rfc3339 = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$");

    [Fact]
    public async Task Fields_carry_who_set_them_and_when_through_merges_deletes_replacements_and_conditionals()
    {
        var uuid = await RepoAsync();
        await PostAsync(uuid, 1000, """{"bodyid":1000,"a string":"foo","a number":1234,"a list":[1,2],"user":"someone"}""", "alice");
        Assert.Equal("""{"a list":[1,2],"a number":1234,"a string":"foo","bodyid":1000,"user":"someone"}""", await _c.GetStringAsync($"/api/node/{uuid}/ann/key/1000"));
        var all = await GetAsync(uuid, 1000, "?show=all");
        Assert.Equal(["a list", "a list_time", "a list_user", "a number", "a number_time", "a number_user", "a string", "a string_time", "a string_user", "bodyid", "user"], Names(all));
        Assert.Matches(Rfc3339, all.GetProperty("a string_time").GetString());
        Assert.Equal("alice", all.GetProperty("a number_user").GetString());
        Assert.Equal("""{"a string":"foo","a string_user":"alice","bodyid":1000}""", await _c.GetStringAsync($"/api/node/{uuid}/ann/key/1000?fields=a%20string&show=user"));
        Assert.Equal("""{"a number_user":"alice","bodyid":1000}""", await _c.GetStringAsync($"/api/node/{uuid}/ann/key/1000?fields=a%20number_user"));

        // A merge: changed and new fields are bob's, the others stay alice's; the same value posted again keeps its user.
        await PostAsync(uuid, 1000, """{"bodyid":1000,"a string":"goo","a number":1234,"new":"x"}""", "bob");
        all = await GetAsync(uuid, 1000, "?show=user");
        Assert.Equal(("bob", "alice", "bob", "alice"), (all.GetProperty("a string_user").GetString(), all.GetProperty("a number_user").GetString(),
            all.GetProperty("new_user").GetString(), all.GetProperty("a list_user").GetString()));
        // Posted metadata wins over the requester.
        await PostAsync(uuid, 1000, """{"bodyid":1000,"other":"y","other_user":"frank"}""", "bob");
        Assert.Equal("frank", (await GetAsync(uuid, 1000, "?show=user")).GetProperty("other_user").GetString());

        // A null deletes the field and records who deleted it.
        await PostAsync(uuid, 1000, """{"bodyid":1000,"a list":null}""", "carol");
        all = await GetAsync(uuid, 1000, "?show=all");
        Assert.False(all.TryGetProperty("a list", out _));
        Assert.Equal("carol", all.GetProperty("a list_user").GetString());
        Assert.True(all.TryGetProperty("a list_time", out _));

        // replace=true: only what is posted stays; an unchanged field keeps its user.
        await PostAsync(uuid, 1000, """{"bodyid":1000,"a string":"goo","b":1}""", "dan", "&replace=true");
        all = await GetAsync(uuid, 1000, "?show=user");
        Assert.Equal(["a string", "a string_user", "b", "b_user", "bodyid"], Names(all));
        Assert.Equal(("bob", "dan"), (all.GetProperty("a string_user").GetString(), all.GetProperty("b_user").GetString()));

        // conditional: an existing value wins; a missing one is written.
        await PostAsync(uuid, 1000, """{"bodyid":1000,"b":2,"c":3}""", "erin", "&conditional=b,c");
        all = await GetAsync(uuid, 1000, "?show=user");
        Assert.Equal((1, "dan", 3, "erin"), (all.GetProperty("b").GetInt32(), all.GetProperty("b_user").GetString(), all.GetProperty("c").GetInt32(), all.GetProperty("c_user").GetString()));
    }

    [Fact]
    public async Task Bad_annotations_get_a_400_and_change_nothing()
    {
        var uuid = await RepoAsync();
        await PostAsync(uuid, 7, """{"bodyid":7,"status":"good"}""");
        var before = await _c.GetStringAsync($"/api/node/{uuid}/ann/key/7?show=all");
        async Task Refused(string url, string body, string contains)
            => await (await _c.PostAsync($"/api/node/{uuid}/ann/{url}", DvidClient.Text(body))).ExpectErrorAsync(400, contains);
        await Refused("key/7", """{"bodyid":7,"status":"x"}""", "without a valid user");
        await Refused("key/7?u=t", """{"status":"x"}""", "must have 'bodyid' field");
        await Refused("key/7?u=t", """{"bodyid":"7","status":"x"}""", "'bodyid' field must be uint64");
        await Refused("key/7?u=t", """{"bodyid":-7,"status":"x"}""", "'bodyid' field must be uint64");
        await Refused("key/7?u=t", """{"bodyid":8,"status":"x"}""", "'bodyid' field 8 must match key 7");
        await Refused("key/7?u=t", """{"bodyid":7,"bodyid_user":"me"}""", "'bodyid_user' field not allowed");
        await Refused("key/7?u=t", """{"bodyid":7,"status":""", "");
        await Refused("key/7?u=t", """[{"bodyid":7}]""", "cannot unmarshal array");
        await Refused("key/0?u=t", """{"bodyid":0}""", "body id 0 is reserved");
        await Refused("key/abc?u=t", """{"bodyid":7}""", "must be a valid uint64");
        await (await _c.GetAsync($"/api/node/{uuid}/ann/key/abc")).ExpectErrorAsync(400, "invalid syntax");
        await (await _c.GetAsync($"/api/node/{uuid}/ann/key/8")).ExpectErrorAsync(404, "Key \"8\" not found");
        Assert.Equal(before, await _c.GetStringAsync($"/api/node/{uuid}/ann/key/7?show=all"));
        Assert.Equal("[\"7\"]", await _c.GetStringAsync($"/api/node/{uuid}/ann/keys"));
    }

    private async Task<string> QueryDataAsync()
    {
        var uuid = await RepoAsync();
        await PostAsync(uuid, 1000, """{"bodyid":1000,"a string":"foo","a number":1234,"a list":[1,2],"baz":""}""");
        await PostAsync(uuid, 2000, """{"bodyid":2000,"a string":"moo","a number":2345,"a list":["mom","pop"]}""");
        await PostAsync(uuid, 3000, """{"bodyid":3000,"a string":"goo","a number":3456,"position":[1,2,3],"big":18446744073709551615}""");
        await PostAsync(uuid, 4000, """{"bodyid":4000,"a string":"Foo","baz":"x","flag":true,"ratio":0.25}""");
        return uuid;
    }

    [Theory]
    [InlineData("""{"a string":["moo","goo"]}""", "2000,3000")]
    [InlineData("""{"a string":["moo","goo"],"a number":[2345,3456]}""", "2000,3000")]
    [InlineData("""{"a string":"re/^(f|m)oo"}""", "1000,2000")]          // case-sensitive
    [InlineData("""{"a list":["re/.*x","re/om"]}""", "2000")]             // unanchored, as DVID's Go regexp
    [InlineData("""{"a list":2}""", "1000")]                               // a stored list holds the value
    [InlineData("""{"a number":"exists/0"}""", "4000")]
    [InlineData("""{"a number":"exists/1","position":"exists/0"}""", "1000,2000")]
    [InlineData("""{"baz":"exists/1"}""", "1000,4000")]                   // "" exists
    [InlineData("""[{"baz":"x"},{"a number":1234},{"a number":1234}]""", "1000,4000")]
    [InlineData("""{"a number":"1234"}""", "")]                            // strings never equal numbers
    [InlineData("""{"big":18446744073709551615}""", "3000")]
    [InlineData("""{"flag":true,"ratio":0.25}""", "4000")]
    [InlineData("""{"bodyid":[3000,1000,9999,1000]}""", "1000,3000")]     // by id: ascending, once each
    [InlineData("""{"unused field":"foo"}""", "")]
    public async Task Queries_match_as_DVID_and_answer_in_ascending_body_order(string query, string expected)
    {
        var uuid = await QueryDataAsync();
        Assert.Equal(expected, string.Join(",", Ids(await QueryAsync(uuid, query))));
        Assert.Equal("[" + expected + "]", await QueryAsync(uuid, query, "?onlyid=true", HttpMethod.Get));
    }

    [Fact]
    public async Task Query_results_follow_show_and_fields_and_bad_queries_are_refused()
    {
        var uuid = await QueryDataAsync();
        Assert.Equal("""[{"a number":2345,"a number_user":"tester","bodyid":2000}]""", await QueryAsync(uuid, """{"a string":"moo"}""", "?fields=a%20number&show=user"));
        async Task Refused(string query, string contains)
            => await (await _c.PostAsync($"/api/node/{uuid}/ann/query", DvidClient.Text(query))).ExpectErrorAsync(400, contains);
        await Refused("[]", "no query provided");
        await Refused("not json", "unable to parse JSON query");
        await Refused("[1,2]", "unable to parse JSON query");
        await Refused("""{"a number":{"$gt":3}}""", "unsupported query value");
        await Refused("""{"a number":null}""", "unsupported query value");
        await Refused("""{"a string":"re/(unclosed"}""", "invalid regular expression");
        // A POSTed query only reads: a locked node answers it.
        await _c.CommitAsync(uuid);
        Assert.Equal("[2000]", await QueryAsync(uuid, """{"a string":"moo"}""", "?onlyid=true"));
    }

    [Fact]
    public async Task Listings_ranges_and_batches_in_every_format()
    {
        var uuid = await QueryDataAsync();
        Assert.Equal("""["1000","2000","3000","4000"]""", await _c.GetStringAsync($"/api/node/{uuid}/ann/keys"));
        Assert.Equal("""["1000","2000"]""", await _c.GetStringAsync($"/api/node/{uuid}/ann/keyrange/0/2100"));
        Assert.Equal("""["3000","4000"]""", await _c.GetStringAsync($"/api/node/{uuid}/ann/keyrange/2001/z"));
        using (var kv = await _c.GetJsonAsync($"/api/node/{uuid}/ann/keyrangevalues/0/2001?json=true&fields=a%20string"))
            Assert.Equal("""{"1000":{"a string":"foo","bodyid":1000},"2000":{"a string":"moo","bodyid":2000}}""", kv.RootElement.GetRawText());
        var pb = await _c.GetByteArrayAsync($"/api/node/{uuid}/ann/keyrangevalues/3000/3000");
        Assert.Equal(["3000"], KeyValueMessages.ReadKeyValues(pb).Select(p => p.Key));
        var tar = await _c.GetStreamAsync($"/api/node/{uuid}/ann/keyrangevalues/0/1500?jsontar=true");
        using (var reader = new TarReader(tar)) Assert.Equal("1000", reader.GetNextEntry()!.Name);

        var get = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/ann/keyvalues?json=true") { Content = DvidClient.Text("""[2000,"23","3000"]""") };
        using (var kv = JsonDocument.Parse(await (await _c.SendAsync(get)).Content.ReadAsStringAsync()))
            Assert.Equal(["2000", "3000"], kv.RootElement.EnumerateObject().Select(p => p.Name)); // missing keys left out
        get = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/ann/keyvalues") { Content = new ByteArrayContent(KeyValueMessages.EncodeKeys(["23", "4000"])) };
        var pairs = KeyValueMessages.ReadKeyValues(await (await _c.SendAsync(get)).Content.ReadAsByteArrayAsync());
        Assert.Equal([("23", 0), ("4000", 1)], pairs.Select(p => (p.Key, p.Value.Length > 0 ? 1 : 0)));

        using (var fields = await _c.GetJsonAsync($"/api/node/{uuid}/ann/fields?counts=true"))
        {
            Assert.Equal(4, fields.RootElement.GetProperty("a string").GetInt32());
            Assert.Equal(2, fields.RootElement.GetProperty("baz_user").GetInt32());
        }
        Assert.Contains("\"position\"", await _c.GetStringAsync($"/api/node/{uuid}/ann/fields"));
        using (var times = await _c.GetJsonAsync($"/api/node/{uuid}/ann/fieldtimes"))
            Assert.Matches(Rfc3339, times.RootElement.GetProperty("a number").GetString());
        Assert.Equal([3000], Ids(await _c.GetStringAsync($"/api/node/{uuid}/ann/all?fields=position")));
        Assert.Equal([1000, 2000, 3000, 4000], Ids(await _c.GetStringAsync($"/api/node/{uuid}/ann/all?fields=bodyid")));
        Assert.Equal([1000, 2000, 3000, 4000], Ids(await _c.GetStringAsync($"/api/node/{uuid}/ann/all")));

        // POST keyvalues: protobuf, merged like single POSTs, all in one commit.
        var body = KeyValueMessages.EncodeKeyValues([("5000", Encoding.UTF8.GetBytes("""{"bodyid":5000,"x":1}""")), ("6000", Encoding.UTF8.GetBytes("""{"bodyid":6001}"""))]);
        await (await _c.PostAsync($"/api/node/{uuid}/ann/keyvalues?u=t", new ByteArrayContent(body))).ExpectErrorAsync(400, "must match key 6000");
        await (await _c.GetAsync($"/api/node/{uuid}/ann/key/5000")).ExpectErrorAsync(404);
        body = KeyValueMessages.EncodeKeyValues([("5000", Encoding.UTF8.GetBytes("""{"bodyid":5000,"x":1}""")), ("1000", Encoding.UTF8.GetBytes("""{"bodyid":1000,"x":2}"""))]);
        await (await _c.PostAsync($"/api/node/{uuid}/ann/keyvalues?u=t", new ByteArrayContent(body))).ExpectAsync(200);
        Assert.Equal("foo", (await GetAsync(uuid, 1000)).GetProperty("a string").GetString()); // merged, not replaced
        Assert.Equal(2, (await GetAsync(uuid, 1000)).GetProperty("x").GetInt32());
    }

    [Fact]
    public async Task Schema_documents_are_kept_and_a_json_schema_validates_posts()
    {
        var uuid = await RepoAsync();
        foreach (var kind in new[] { "json_schema", "schema", "schema_batch" })
        {
            await (await _c.GetAsync($"/api/node/{uuid}/ann/{kind}")).ExpectAsync(404);
            Assert.Equal(HttpStatusCode.NotFound, (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/ann/{kind}"))).StatusCode);
        }
        await (await _c.PostAsync($"/api/node/{uuid}/ann/schema", DvidClient.Text("""{"title":"neuprint"}"""))).ExpectAsync(200);
        Assert.Equal("""{"title":"neuprint"}""", await _c.GetStringAsync($"/api/node/{uuid}/ann/schema"));
        Assert.Equal("""{"title":"neuprint"}""", await _c.GetStringAsync($"/api/node/{uuid}/ann/key/schema"));
        Assert.Equal(HttpStatusCode.OK, (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/ann/schema"))).StatusCode);
        await (await _c.DeleteAsync($"/api/node/{uuid}/ann/schema")).ExpectAsync(200);
        await (await _c.GetAsync($"/api/node/{uuid}/ann/schema")).ExpectAsync(404);

        await (await _c.PostAsync($"/api/node/{uuid}/ann/json_schema", DvidClient.Text("""{"type":"object","properties":{"group":{"type":"integer"}}}"""))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/ann/key/9?u=t", DvidClient.Text("""{"bodyid":9,"group":"abc"}"""))).ExpectErrorAsync(400, "does not validate");
        await PostAsync(uuid, 9, """{"bodyid":9,"group":130911}""");
        await (await _c.PostAsync($"/api/node/{uuid}/ann/json_schema", DvidClient.Text("""{"type": 12}"""))).ExpectErrorAsync(400, "json_schema");
    }

    [Fact]
    public async Task Annotations_are_versioned_like_keyvalue()
    {
        var uuid = await RepoAsync();
        await PostAsync(uuid, 1, """{"bodyid":1,"status":"parent"}""");
        await PostAsync(uuid, 2, """{"bodyid":2,"status":"parent"}""");
        await _c.CommitAsync(uuid);
        await (await _c.PostAsync($"/api/node/{uuid}/ann/key/1?u=t", DvidClient.Text("""{"bodyid":1,"status":"x"}"""))).ExpectErrorAsync(400, "locked");
        var child = await _c.NewVersionAsync(uuid);
        await PostAsync(child, 1, """{"bodyid":1,"status":"child"}""");
        await (await _c.DeleteAsync($"/api/node/{child}/ann/key/2")).ExpectAsync(200);
        Assert.Equal("child", (await GetAsync(child, 1)).GetProperty("status").GetString());
        Assert.Equal("parent", (await GetAsync(uuid, 1)).GetProperty("status").GetString());
        Assert.Equal("""["1"]""", await _c.GetStringAsync($"/api/node/{child}/ann/keys"));
        Assert.Equal("""["1","2"]""", await _c.GetStringAsync($"/api/node/{uuid}/ann/keys"));
        Assert.Equal(HttpStatusCode.NotFound, (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{child}/ann/key/2"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _c.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/node/{uuid}/ann/key/2"))).StatusCode);
    }
}
