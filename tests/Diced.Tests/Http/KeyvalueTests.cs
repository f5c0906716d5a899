using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Diced.Server.Wire;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class KeyvalueTests(ServerFixture f) : KeyvalueSpec(f.Client), IClassFixture<ServerFixture>;

/// <summary>The same behaviour with the server's store in S3 (Ceph radosgw).</summary>
[Collection(RadosGwCollection.Name)]
public class KeyvalueTestsOnS3(RadosGwFixture rgw) : KeyvalueSpec(rgw.Server.Client);

/// <summary>The same behaviour with the server's store in GCS (the JSON API stand-in).</summary>
[Collection(GcsCollection.Name)]
public class KeyvalueTestsOnGcs(GcsStandIn gcs) : KeyvalueSpec(gcs.Server.Client);

/// <summary>What every backend must do; run by <see cref="KeyvalueTests"/> and <see cref="KeyvalueTestsOnS3"/>.</summary>
public abstract class KeyvalueSpec(HttpClient client)
{
    private readonly HttpClient _c = client;

    private async Task<string> RepoWith(string name = "kv", object? extra = null)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, "keyvalue", name, extra);
        return uuid;
    }

    [Fact]
    public async Task Key_round_trips_bytes_with_dotted_instance_and_colon_keys()
    {
        var uuid = await RepoWith(".files");
        var value = new byte[300_000];
        new Random(1).NextBytes(value);
        await _c.PutKeyAsync(uuid, ".files", "dir:file.bin", value);
        var r = await (await _c.GetAsync($"/api/node/{uuid}/.files/key/dir:file.bin?u=&app=")).ExpectAsync(200);
        Assert.Equal("application/octet-stream", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal("bytes", r.Headers.AcceptRanges.Single());
        Assert.Equal(value, await r.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("gzip:9")]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public async Task Values_read_back_whatever_the_instance_compression(string compression)
    {
        var uuid = await RepoWith("kv", new { Compression = compression, Checksum = "crc32" });
        var value = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("compressible text ", 1000)));
        await _c.PutKeyAsync(uuid, "kv", "k", value);
        Assert.Equal(value, await _c.GetKeyAsync(uuid, "kv", "k"));
    }

    [Fact]
    public async Task Missing_key_is_404_and_empty_values_are_stored()
    {
        var uuid = await RepoWith();
        await (await _c.GetAsync($"/api/node/{uuid}/kv/key/absent")).ExpectAsync(404);
        Assert.Contains("Key \"absent\" not found", await (await _c.GetAsync($"/api/node/{uuid}/kv/key/absent")).Content.ReadAsStringAsync());
        await (await _c.SendAsync(HttpMethod.Head, $"/api/node/{uuid}/kv/key/absent")).ExpectAsync(404);
        await _c.PutKeyAsync(uuid, "kv", "empty", []);
        Assert.Equal(Array.Empty<byte>(), await _c.GetKeyAsync(uuid, "kv", "empty"));
        await (await _c.SendAsync(HttpMethod.Head, $"/api/node/{uuid}/kv/key/empty")).ExpectAsync(200);
    }

    [Fact]
    public async Task Delete_hides_the_key_and_is_idempotent()
    {
        var uuid = await RepoWith();
        await _c.PutKeyAsync(uuid, "kv", "k", [1]);
        await (await _c.DeleteAsync($"/api/node/{uuid}/kv/key/k")).ExpectAsync(200);
        await (await _c.DeleteAsync($"/api/node/{uuid}/kv/key/k")).ExpectAsync(200);
        Assert.Null(await _c.GetKeyAsync(uuid, "kv", "k"));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"));
    }

    [Fact]
    public async Task Put_verb_and_missing_key_are_rejected()
    {
        var uuid = await RepoWith();
        await (await _c.PutAsync($"/api/node/{uuid}/kv/key/k", DvidClient.Text("x"))).ExpectErrorAsync(400, "does not support \"put\" HTTP verb");
        await (await _c.PostAsync($"/api/node/{uuid}/kv/key/", DvidClient.Text("x"))).ExpectErrorAsync(400, "requires a key");
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"));
    }

    [Theory]
    [InlineData("bytes=2-4", 206, "234", "bytes 2-4/10")]
    [InlineData("bytes=7-", 206, "789", "bytes 7-9/10")]
    [InlineData("bytes=-2", 206, "89", "bytes 8-9/10")]
    [InlineData("bytes=5-100", 206, "56789", "bytes 5-9/10")]
    [InlineData("bytes=4-2", 200, "0123456789", null)]
    [InlineData("bytes=0-1,4-5", 200, "0123456789", null)]
    [InlineData("items=0-1", 200, "0123456789", null)]
    public async Task Range_header_selects_one_range(string range, int status, string expected, string? contentRange)
    {
        var uuid = await RepoWith();
        await _c.PutKeyAsync(uuid, "kv", "digits", Encoding.ASCII.GetBytes("0123456789"));
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/key/digits");
        req.Headers.TryAddWithoutValidation("Range", range);
        var r = await (await _c.SendAsync(req)).ExpectAsync(status);
        Assert.Equal(expected, await r.Content.ReadAsStringAsync());
        Assert.Equal(contentRange, r.Content.Headers.ContentRange?.ToString());
    }

    [Theory]
    [InlineData("bytes=10-")]
    [InlineData("bytes=-0")]
    [InlineData("bytes=")]
    public async Task Unsatisfiable_range_is_416_with_the_length(string range)
    {
        var uuid = await RepoWith();
        await _c.PutKeyAsync(uuid, "kv", "digits", Encoding.ASCII.GetBytes("0123456789"));
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/key/digits");
        req.Headers.TryAddWithoutValidation("Range", range);
        var r = await (await _c.SendAsync(req)).ExpectAsync(416);
        Assert.Equal("bytes */10", r.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task Byte_start_and_end_query_returns_200_slice_and_rejects_bad_ranges()
    {
        var uuid = await RepoWith();
        await _c.PutKeyAsync(uuid, "kv", "digits", Encoding.ASCII.GetBytes("0123456789"));
        var url = $"/api/node/{uuid}/kv/key/digits";
        Assert.Equal("345", await (await (await _c.GetAsync(url + "?byte_start=3&byte_end=5")).ExpectAsync(200)).Content.ReadAsStringAsync());
        await (await _c.GetAsync(url + "?byte_start=3")).ExpectErrorAsync(400, "both");
        await (await _c.GetAsync(url + "?byte_start=a&byte_end=3")).ExpectErrorAsync(400);
        await (await _c.GetAsync(url + "?byte_start=5&byte_end=3")).ExpectErrorAsync(400);
        await (await _c.GetAsync(url + "?byte_start=5&byte_end=10")).ExpectErrorAsync(400);
        var both = new HttpRequestMessage(HttpMethod.Get, url + "?byte_start=0&byte_end=1");
        both.Headers.TryAddWithoutValidation("Range", "bytes=0-1");
        await (await _c.SendAsync(both)).ExpectErrorAsync(400, "Range");
    }

    [Fact]
    public async Task Keys_and_keyrange_list_in_byte_order_inclusive()
    {
        var uuid = await RepoWith();
        foreach (var k in new[] { "b", "a", "ab", "abc", "c", "a:1", "é" })
            await _c.PutKeyAsync(uuid, "kv", k, [1]);
        Assert.Equal("[\"a\",\"a:1\",\"ab\",\"abc\",\"b\",\"c\",\"é\"]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"));
        Assert.Equal("[\"a\",\"a:1\",\"ab\",\"abc\",\"b\",\"c\",\"é\"]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys/0/z"));
        Assert.Equal("[\"ab\",\"abc\",\"b\"]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keyrange/ab/b"));
        Assert.Equal("[\"a\",\"a:1\"]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keyrange/0/a:1"));
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keyrange/x/y"));
        await (await _c.GetAsync($"/api/node/{uuid}/kv/keyrange/a")).ExpectErrorAsync(400, "two keys");
    }

    [Fact]
    public async Task Keyrangevalues_streams_protobuf_json_and_tar()
    {
        var uuid = await RepoWith();
        await _c.PutKeyAsync(uuid, "kv", "k1", Encoding.UTF8.GetBytes("{\"a\":1}"));
        await _c.PutKeyAsync(uuid, "kv", "k2", Encoding.UTF8.GetBytes("[2]"));
        await _c.PutKeyAsync(uuid, "kv", "k3", []);
        await _c.PutKeyAsync(uuid, "kv", "z", Encoding.UTF8.GetBytes("out of range"));
        var pb = await (await _c.GetAsync($"/api/node/{uuid}/kv/keyrangevalues/k1/k3")).Content.ReadAsByteArrayAsync();
        var pairs = KeyValueMessages.ReadKeyValues(pb);
        Assert.Equal(["k1", "k2", "k3"], pairs.Select(p => p.Key).ToArray());
        Assert.Equal("[2]", Encoding.UTF8.GetString(pairs[1].Value));
        var json = await _c.GetStringAsync($"/api/node/{uuid}/kv/keyrangevalues/k1/k3?json=true");
        Assert.Equal("{\"k1\":{\"a\":1},\"k2\":[2],\"k3\":{}}", json);
        var tar = await (await _c.GetAsync($"/api/node/{uuid}/kv/keyrangevalues/k1/k2?tar=true")).Content.ReadAsByteArrayAsync();
        var files = ReadTar(tar);
        Assert.Equal(["k1", "k2"], files.Keys.ToArray());
        Assert.Equal("[2]", Encoding.UTF8.GetString(files["k2"]));
        await (await _c.GetAsync($"/api/node/{uuid}/kv/keyrangevalues/k1/k3?json=true&tar=true")).ExpectErrorAsync(400);
        await (await _c.GetAsync($"/api/node/{uuid}/kv/keyrangevalues/a/zz?json=true&check=true")).ExpectErrorAsync(400, "not valid JSON");
    }

    [Fact]
    public async Task Keyvalues_batch_get_and_post_in_protobuf()
    {
        var uuid = await RepoWith();
        var body = KeyValueMessages.EncodeKeyValues([("a", [1, 2, 3]), ("b", Encoding.UTF8.GetBytes("hello")), ("c", [])]);
        await (await _c.PostAsync($"/api/node/{uuid}/kv/keyvalues", new ByteArrayContent(body))).ExpectAsync(200);
        var keys = KeyValueMessages.EncodeKeys(["b", "missing", "a"], [("b", 1, 3)]);
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/keyvalues") { Content = new ByteArrayContent(keys) };
        var r = await (await _c.SendAsync(req)).ExpectAsync(200);
        var pairs = KeyValueMessages.ReadKeyValues(await r.Content.ReadAsByteArrayAsync());
        Assert.Equal(["b", "missing", "a", "b"], pairs.Select(p => p.Key).ToArray());
        Assert.Equal("hello", Encoding.UTF8.GetString(pairs[0].Value));
        Assert.Empty(pairs[1].Value);
        Assert.Equal([1, 2, 3], pairs[2].Value);
        Assert.Equal("ell", Encoding.UTF8.GetString(pairs[3].Value));
        Assert.Equal(Array.Empty<byte>(), await _c.GetKeyAsync(uuid, "kv", "c"));
    }

    [Fact]
    public async Task Keyvalues_json_and_tar_requests_take_a_json_key_list()
    {
        var uuid = await RepoWith();
        await _c.PutKeyAsync(uuid, "kv", "j", Encoding.UTF8.GetBytes("{\"list\":[1,2,3]}"));
        await _c.PutKeyAsync(uuid, "kv", "t", Encoding.UTF8.GetBytes("not json"));
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/keyvalues?json=true")
        { Content = DvidClient.Text("[\"j\", \"nope\", {\"key\":\"j\",\"byte_start\":8,\"byte_end\":14}]") };
        var json = await (await (await _c.SendAsync(req)).ExpectAsync(200)).Content.ReadAsStringAsync();
        Assert.Equal("{\"j\":{\"list\":[1,2,3]},\"nope\":{},\"j\":[1,2,3]}", json);
        var bad = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/keyvalues?json=true")
        { Content = DvidClient.Text("[{\"key\":\"t\",\"byte_start\":0,\"byte_end\":2}]") };
        await (await _c.SendAsync(bad)).ExpectErrorAsync(400, "not valid JSON");
        var tarReq = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/keyvalues?tar=true") { Content = DvidClient.Text("[\"t\",\"nope\"]") };
        var files = ReadTar(await (await _c.SendAsync(tarReq)).Content.ReadAsByteArrayAsync());
        Assert.Equal("not json", Encoding.UTF8.GetString(files["t"]));
        Assert.Empty(files["nope"]);
    }

    [Fact]
    public async Task Corrupt_protobuf_batches_are_rejected_and_store_nothing()
    {
        var uuid = await RepoWith();
        var good = KeyValueMessages.EncodeKeyValues([("a", [1, 2, 3]), ("b", [4, 5, 6])]);
        await (await _c.PostAsync($"/api/node/{uuid}/kv/keyvalues", new ByteArrayContent(good[..^2]))).ExpectErrorAsync(400, "protobuf");
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"));
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/node/{uuid}/kv/keyvalues") { Content = new ByteArrayContent([0x0A, 0x05, 0x61]) };
        await (await _c.SendAsync(req)).ExpectErrorAsync(400, "protobuf");
    }

    [Fact]
    public async Task Tags_merge_and_replace()
    {
        var uuid = await RepoWith();
        Assert.Equal("{\"Tags\":null}", await _c.GetStringAsync($"/api/node/{uuid}/kv/tags"));
        await (await _c.PostAsync($"/api/node/{uuid}/kv/tags", DvidClient.Json(new { a = "1", b = "2" }))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/kv/tags", DvidClient.Json(new { b = "3" }))).ExpectAsync(200);
        Assert.Equal("{\"Tags\":{\"a\":\"1\",\"b\":\"3\"}}", await _c.GetStringAsync($"/api/node/{uuid}/kv/tags"));
        await (await _c.PostAsync($"/api/node/{uuid}/kv/tags?replace=true", DvidClient.Json(new { c = "4" }))).ExpectAsync(200);
        Assert.Equal("{\"Tags\":{\"c\":\"4\"}}", await _c.GetStringAsync($"/api/node/{uuid}/kv/tags"));
        await (await _c.PostAsync($"/api/node/{uuid}/kv/tags", DvidClient.Json(new { d = 5 }))).ExpectErrorAsync(400, "not a string");
    }

    [Fact]
    public async Task Children_see_ancestor_values_until_they_overwrite_or_delete_them()
    {
        var root = await RepoWith();
        await _c.PutKeyAsync(root, "kv", "shared", [1]);
        await _c.PutKeyAsync(root, "kv", "doomed", [2]);
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        var sibling = await _c.BranchAsync(root, "sibling");
        Assert.Equal([1], await _c.GetKeyAsync(child, "kv", "shared"));
        await _c.PutKeyAsync(child, "kv", "shared", [9]);
        await (await _c.DeleteAsync($"/api/node/{child}/kv/key/doomed")).ExpectAsync(200);
        await _c.PutKeyAsync(child, "kv", "new", [3]);
        Assert.Equal([9], await _c.GetKeyAsync(child, "kv", "shared"));
        Assert.Null(await _c.GetKeyAsync(child, "kv", "doomed"));
        Assert.Equal("[\"new\",\"shared\"]", await _c.GetStringAsync($"/api/node/{child}/kv/keys"));
        // The parent and a sibling branch never see the child's writes.
        Assert.Equal([1], await _c.GetKeyAsync(root, "kv", "shared"));
        Assert.Equal([2], await _c.GetKeyAsync(root, "kv", "doomed"));
        Assert.Equal("[\"doomed\",\"shared\"]", await _c.GetStringAsync($"/api/node/{sibling}/kv/keys"));
        // Re-writing a deleted key at a descendant makes it visible again.
        await _c.CommitAsync(child);
        var grandchild = await _c.NewVersionAsync(child);
        Assert.Null(await _c.GetKeyAsync(grandchild, "kv", "doomed"));
        await _c.PutKeyAsync(grandchild, "kv", "doomed", [4]);
        Assert.Equal([4], await _c.GetKeyAsync(grandchild, "kv", "doomed"));
    }

    [Fact]
    public async Task Unversioned_instances_read_and_write_the_root_from_any_node()
    {
        var root = await RepoWith("meta", new { versioned = "false" });
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        await _c.PutKeyAsync(child, "meta", "k", [7]); // allowed although the root is locked
        Assert.Equal([7], await _c.GetKeyAsync(root, "meta", "k"));
        await _c.PutKeyAsync(root, "meta", "k", [8]);
        Assert.Equal([8], await _c.GetKeyAsync(child, "meta", "k"));
    }

    [Fact]
    public async Task Instance_names_are_repo_wide_and_visible_from_ancestors()
    {
        var root = await _c.CreateRepoAsync();
        await _c.CommitAsync(root);
        var child = await _c.NewVersionAsync(root);
        await _c.CreateInstanceAsync(child, "keyvalue", "late");
        await _c.PutKeyAsync(child, "late", "k", [1]);
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{root}/late/keys"));
        using var info = await _c.GetJsonAsync($"/api/node/{root}/late/info");
        Assert.Equal(child, info.RootElement.GetProperty("Base").GetProperty("RepoUUID").GetString());
    }

    private static Dictionary<string, byte[]> ReadTar(byte[] tar)
    {
        var files = new Dictionary<string, byte[]>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry() is { } e)
        {
            using var ms = new MemoryStream();
            e.DataStream?.CopyTo(ms);
            files[e.Name] = ms.ToArray();
        }
        return files;
    }
}
