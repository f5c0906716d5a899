using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Diced.Codecs;
using Diced.Codecs.Labels;
using Diced.Tests.Codecs;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Http;

public class LabelTests(ServerFixture f) : LabelSpec(f.Client), IClassFixture<ServerFixture>;

/// <summary>The same behaviour with the server's store in S3 (Ceph radosgw).</summary>
[Collection(RadosGwCollection.Name)]
public class LabelTestsOnS3(RadosGwFixture rgw) : LabelSpec(rgw.Server.Client);

/// <summary>labelblk and labelmap through HTTP, checked against voxels computed here.</summary>
public abstract class LabelSpec(HttpClient client)
{
    private readonly HttpClient _c = client;

    private async Task<string> RepoWith(string type, string name, object? extra = null)
    {
        var uuid = await _c.CreateRepoAsync();
        await _c.CreateInstanceAsync(uuid, type, name, extra);
        return uuid;
    }

    private static byte[] Bytes(ulong[] labels) => MemoryMarshal.AsBytes(labels.AsSpan()).ToArray();
    private static ulong[] Labels(byte[] bytes) => MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan()).ToArray();

    private async Task<HttpResponseMessage> GetWithBody(string url, string json)
        => await _c.SendAsync(new HttpRequestMessage(HttpMethod.Get, url) { Content = new StringContent(json, Encoding.UTF8) });

    /// <summary>A 128³ volume of smooth segments in 2×2×2 blocks of 64³ (ids from 1000).</summary>
    private static ulong[] Segmentation128(int seed)
    {
        var labels = new ulong[128 * 128 * 128];
        var rng = new Random(seed);
        var seeds = Enumerable.Range(0, 12).Select(i => (X: rng.Next(128), Y: rng.Next(128), Z: rng.Next(128), L: 1000UL + (ulong)i)).ToArray();
        for (int z = 0; z < 128; z++)
        for (int y = 0; y < 128; y++)
        for (int x = 0; x < 128; x++)
        {
            int best = 0, bestD = int.MaxValue;
            for (int i = 0; i < seeds.Length; i++)
            {
                int dx = x - seeds[i].X, dy = y - seeds[i].Y, dz = z - seeds[i].Z, d = dx * dx + dy * dy + dz * dz;
                if (d < bestD) { bestD = d; best = i; }
            }
            labels[(z * 128 + y) * 128 + x] = seeds[best].L;
        }
        return labels;
    }

    private static HashSet<(int, int, int)> VoxelsOf(ulong[] volume, int n, Func<ulong, bool> member)
    {
        var set = new HashSet<(int, int, int)>();
        for (int z = 0; z < n; z++)
        for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            if (member(volume[(z * n + y) * n + x])) set.Add((x, y, z));
        return set;
    }

    private static HashSet<(int, int, int)> VoxelsOfRle(byte[] rle, bool header = true)
    {
        var set = new HashSet<(int, int, int)>();
        int at = header ? 12 : 0;
        if (header)
        {
            Assert.Equal(0, rle[0]);
            Assert.Equal(3, rle[1]);
            Assert.Equal((rle.Length - 12) / 16, (int)BinaryPrimitives.ReadUInt32LittleEndian(rle.AsSpan(8)));
        }
        for (; at < rle.Length; at += 16)
        {
            int x = BinaryPrimitives.ReadInt32LittleEndian(rle.AsSpan(at)), y = BinaryPrimitives.ReadInt32LittleEndian(rle.AsSpan(at + 4)),
                z = BinaryPrimitives.ReadInt32LittleEndian(rle.AsSpan(at + 8)), len = BinaryPrimitives.ReadInt32LittleEndian(rle.AsSpan(at + 12));
            for (int i = 0; i < len; i++) Assert.True(set.Add((x + i, y, z)), "runs overlap");
        }
        return set;
    }

    [Fact]
    public async Task Labelblk_raw_round_trips_in_every_compression()
    {
        var uuid = await RepoWith("labelblk", "seg");
        var labels = new ulong[32 * 32 * 64];
        var rng = new Random(4);
        for (int i = 0; i < labels.Length; i++) labels[i] = (ulong)(i / 700) * 0x100000001UL + (ulong)rng.Next(2);
        var raw = Bytes(labels);
        // libdvid posts labels LZ4-compressed.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/32_32_64/32_0_0?compression=lz4&u=me&app=test", new ByteArrayContent(Lz4Block.Encode(raw)))).ExpectAsync(200);
        var url = $"/api/node/{uuid}/seg/raw/0_1_2/32_32_64/32_0_0";
        Assert.Equal(raw, await _c.GetByteArrayAsync(url));
        var lz4 = await _c.GetByteArrayAsync(url + "?compression=lz4");
        var back = new byte[raw.Length];
        Lz4Block.Decode(lz4, back);
        Assert.Equal(raw, back);
        Assert.Equal(raw, GzipCodec.Decompress(await _c.GetByteArrayAsync(url + "?compression=gzip")));
        var google = await _c.GetAsync(url + "?compression=googlegzip");
        await google.ExpectAsync(200);
        Assert.Contains("gzip", google.Content.Headers.ContentEncoding);
        var cseg = GzipCodec.Decompress(await google.Content.ReadAsByteArrayAsync());
        Assert.Equal(labels, CompressedSegmentation.Decode(cseg, (32, 32, 64)));
        await (await _c.GetAsync(url + "?compression=snappy")).ExpectErrorAsync(400, "unknown compression");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/raw/0_1_2/30_32_64/32_0_0?compression=google")).ExpectErrorAsync(400, "multiple of 8");

        // label and labels (GET with a JSON body)
        using var one = await _c.GetJsonAsync($"/api/node/{uuid}/seg/label/40_3_9");
        Assert.Equal(labels[(9 * 32 + 3) * 32 + 8], one.RootElement.GetProperty("Label").GetUInt64());
        Assert.Equal("{\"Label\": 0}", await _c.GetStringAsync($"/api/node/{uuid}/seg/label/0_0_0"));
        var many = await GetWithBody($"/api/node/{uuid}/seg/labels", "[[40,3,9],[63,31,63],[0,0,0]]");
        await many.ExpectAsync(200);
        Assert.Equal($"[{labels[(9 * 32 + 3) * 32 + 8]},{labels[(63 * 32 + 31) * 32 + 31]},0]", await many.Content.ReadAsStringAsync());
        await (await _c.PostAsync($"/api/node/{uuid}/seg/labels", new StringContent("[[1,2,3]]"))).ExpectErrorAsync(400, "must be a GET request");

        // blocks: framed LZ4 of each 32³ block's uint64 array
        var blocks = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/blocks/32_32_64/32_0_0");
        var seen = 0;
        for (int at = 0; at < blocks.Length; seen++)
        {
            int bx = BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(at)), bz = BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(at + 8));
            int n = BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(at + 12));
            var block = new byte[32 * 32 * 32 * 8];
            Lz4Block.Decode(blocks.AsSpan(at + 16, n), block);
            Assert.Equal(1, bx);
            Assert.Equal(raw.AsSpan(bz * block.Length, block.Length).ToArray(), block);
            at += 16 + n;
        }
        Assert.Equal(2, seen);
        await (await _c.GetAsync($"/api/node/{uuid}/seg/blocks/32_32_64/32_0_0?compression=blocks")).ExpectErrorAsync(400, "lz4");
    }

    [Fact]
    public async Task Labelmap_indexes_bodies_merges_and_cleaves()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var volume = Segmentation128(1);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        var raw = $"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0";
        Assert.Equal(volume, Labels(await _c.GetByteArrayAsync(raw)));
        Assert.Equal("{\"maxlabel\": 1011}", await _c.GetStringAsync($"/api/node/{uuid}/seg/maxlabel"));
        Assert.Equal("{\"nextlabel\": 1012}", await _c.GetStringAsync($"/api/node/{uuid}/seg/nextlabel"));

        // Sizes and sparse volumes come from the index and match the voxels.
        var count1003 = volume.Count(l => l == 1003);
        Assert.Equal($"{{\"voxels\": {count1003}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/1003"));
        var sizes = await GetWithBody($"/api/node/{uuid}/seg/sizes", "[1003, 5, 1004]");
        Assert.Equal($"[{count1003},0,{volume.Count(l => l == 1004)}]", await sizes.Content.ReadAsStringAsync());
        var rle = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/1003");
        Assert.Equal(VoxelsOf(volume, 128, l => l == 1003), VoxelsOfRle(rle));
        var bounded = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/1003?minx=10&maxx=70&minz=20&maxz=100&format=srles");
        Assert.Equal(VoxelsOf(volume, 128, l => l == 1003).Where(p => p.Item1 is >= 10 and <= 70 && p.Item3 is >= 20 and <= 100).ToHashSet(), VoxelsOfRle(bounded, header: false));
        Assert.Equal(VoxelsOf(volume, 128, l => l == 1003), VoxelsOfMask(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/1003?format=blocks"), 1003));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevol/77")).ExpectAsync(404);
        Assert.Equal(HttpStatusCode.OK, (await _c.SendAsync(HttpMethod.Head, $"/api/node/{uuid}/seg/sparsevol/1003")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _c.SendAsync(HttpMethod.Head, $"/api/node/{uuid}/seg/sparsevol/77")).StatusCode);
        using (var size = await _c.GetJsonAsync($"/api/node/{uuid}/seg/sparsevol-size/1003"))
            Assert.Equal((ulong)count1003, size.RootElement.GetProperty("voxels").GetUInt64());
        var coarse = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol-coarse/1003");
        var expectedBlocks = VoxelsOf(volume, 128, l => l == 1003).Select(p => (p.Item1 / 64, p.Item2 / 64, p.Item3 / 64)).ToHashSet();
        Assert.Equal(expectedBlocks, VoxelsOfRle(coarse));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevol/0")).ExpectErrorAsync(400, "background");

        // Merge 1004 and 1005 into 1003: bodies change, supervoxels do not.
        var merge = await _c.PostAsync($"/api/node/{uuid}/seg/merge?u=alice&app=test", new StringContent("[1003, 1004, 1005]"));
        await merge.ExpectAsync(200);
        using var mergeDoc = JsonDocument.Parse(await merge.Content.ReadAsStringAsync());
        var mergeId = mergeDoc.RootElement.GetProperty("MutationID").GetUInt64();
        var merged = Labels(await _c.GetByteArrayAsync(raw));
        Assert.Equal(volume.Select(l => l is 1004 or 1005 ? 1003UL : l).ToArray(), merged);
        Assert.Equal(volume, Labels(await _c.GetByteArrayAsync(raw + "?supervoxels=true")));
        Assert.Equal("[1003,1003,1003,0,1006]", await (await GetWithBody($"/api/node/{uuid}/seg/mapping", "[1003,1004,1005,99,1006]")).Content.ReadAsStringAsync());
        Assert.Equal("[1003,1004,1005]", await _c.GetStringAsync($"/api/node/{uuid}/seg/supervoxels/1003"));
        var bodyVoxels = VoxelsOf(volume, 128, l => l is 1003 or 1004 or 1005);
        Assert.Equal(bodyVoxels, VoxelsOfRle(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/1003")));
        Assert.Equal(VoxelsOf(volume, 128, l => l == 1004), VoxelsOfRle(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/1004?supervoxels=true")));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevol/1004")).ExpectAsync(404);
        Assert.Equal($"{{\"voxels\": {bodyVoxels.Count}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/1003"));
        using (var lastmod = await _c.GetJsonAsync($"/api/node/{uuid}/seg/lastmod/1003"))
        {
            Assert.Equal(mergeId, lastmod.RootElement.GetProperty("mutation id").GetUInt64());
            Assert.Equal("alice", lastmod.RootElement.GetProperty("last mod user").GetString());
        }
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[1003, 4242]"))).ExpectErrorAsync(400, "non-existent label 4242");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[4242, 1003]"))).ExpectErrorAsync(400, "into a non-existent label 4242");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[1003, 0]"))).ExpectErrorAsync(400, "background");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/merge")).ExpectErrorAsync(400, "must be POST");

        // Mappings list every non-identity assignment; the index names blocks and per-supervoxel counts.
        Assert.Equal("1004 1003\n1005 1003\n", await _c.GetStringAsync($"/api/node/{uuid}/seg/mappings"));
        var binary = await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/mappings?format=binary");
        Assert.Equal(new ulong[] { 1004, 1003, 1005, 1003 }, Labels(binary));
        var index = Diced.Server.Wire.LabelMessages.DecodeIndex(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/index/1003"));
        Assert.Equal(1003UL, index.Label);
        Assert.Equal(mergeId, index.LastMutationId);
        foreach (var sv in new ulong[] { 1003, 1004, 1005 })
            Assert.Equal(volume.LongCount(l => l == sv), index.Blocks.Values.Sum(c => c.TryGetValue(sv, out var n) ? (long)n : 0));
        using (var meta = await _c.GetJsonAsync($"/api/node/{uuid}/seg/index/1003?metadata-only=true"))
            Assert.Equal((ulong)bodyVoxels.Count, meta.RootElement.GetProperty("num_voxels").GetUInt64());
        await (await _c.GetAsync($"/api/node/{uuid}/seg/index/4242")).ExpectAsync(404);
        var indices = Diced.Server.Wire.LabelMessages.DecodeIndices(await (await GetWithBody($"/api/node/{uuid}/seg/indices", "[1003, 4242, 1006]")).Content.ReadAsByteArrayAsync());
        Assert.Equal(new ulong[] { 1003, 1006 }, indices.Select(i => i.Label).ToArray());
        await (await _c.PostAsync($"/api/node/{uuid}/seg/index/1003", new ByteArrayContent([0xFF, 0xFF]))).ExpectErrorAsync(400, "LabelIndex");

        using (var svSizes = await _c.GetJsonAsync($"/api/node/{uuid}/seg/supervoxel-sizes/1003"))
        {
            Assert.Equal(new ulong[] { 1003, 1004, 1005 }, svSizes.RootElement.GetProperty("supervoxels").EnumerateArray().Select(e => e.GetUInt64()).ToArray());
            Assert.Equal(new long[] { volume.Count(l => l == 1003), volume.Count(l => l == 1004), volume.Count(l => l == 1005) },
                svSizes.RootElement.GetProperty("sizes").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        }
        int at = Array.IndexOf(volume, 1004UL);
        Assert.Equal(bodyVoxels, VoxelsOfRle(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol-by-point/{at % 128}_{at / 128 % 128}_{at / (128 * 128)}")));

        // Cleave 1005 back out into a new body.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/1003", new StringContent("[1009]"))).ExpectErrorAsync(400, "does not exist in label 1003");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/1003", new StringContent("[1003,1004,1005]"))).ExpectErrorAsync(400, "all supervoxels");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/1003", new StringContent(""))).ExpectErrorAsync(400, "no cleave supervoxels");
        var cleave = await _c.PostAsync($"/api/node/{uuid}/seg/cleave/1003", new StringContent("[1005]"));
        await cleave.ExpectAsync(200);
        using var cleaveDoc = JsonDocument.Parse(await cleave.Content.ReadAsStringAsync());
        var newBody = cleaveDoc.RootElement.GetProperty("CleavedLabel").GetUInt64();
        Assert.True(newBody >= 1012, $"cleaved body {newBody} must be a fresh id above every written label");
        Assert.True(cleaveDoc.RootElement.GetProperty("MutationID").GetUInt64() > mergeId);
        var after = Labels(await _c.GetByteArrayAsync(raw));
        Assert.Equal(volume.Select(l => l switch { 1004 => 1003UL, 1005 => newBody, _ => l }).ToArray(), after);
        Assert.Equal(VoxelsOf(volume, 128, l => l == 1005), VoxelsOfRle(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/{newBody}")));

        // The mutation log has both, in order.
        using var log = await _c.GetJsonAsync($"/api/node/{uuid}/seg/mutations");
        var actions = log.RootElement.EnumerateArray().Select(e => e.GetProperty("Action").GetString()).ToArray();
        Assert.Equal(["merge-complete", "cleave-complete"], actions); // DVID's log records, as neuclease reads them

        // Overwriting voxels keeps the index right: paint a box with a new supervoxel.
        var patch = Enumerable.Repeat(2000UL, 16 * 16 * 16).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/16_16_16/60_60_60", new ByteArrayContent(Bytes(patch)))).ExpectAsync(200);
        for (int z = 60; z < 76; z++) for (int y = 60; y < 76; y++) for (int x = 60; x < 76; x++) volume[(z * 128 + y) * 128 + x] = 2000;
        Assert.Equal("{\"voxels\": 4096}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/2000"));
        Assert.Equal($"{{\"voxels\": {volume.Count(l => l is 1003 or 1004)}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/1003"));
    }

    [Fact]
    public async Task Labelmap_blocks_post_and_read_back_in_every_block_format()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var a = LabelBlockTests.SyntheticSegmentation(64, seed: 5, segments: 8, labelBase: 100);
        var b = Enumerable.Repeat(7UL, 64 * 64 * 64).ToArray();
        var body = Frame((1, 2, 3), GzipCodec.Compress(LabelBlock.Encode(a, (64, 64, 64)))).Concat(Frame((2, 2, 3), GzipCodec.Compress(LabelBlock.Encode(b, (64, 64, 64))))).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/blocks", new ByteArrayContent(body))).ExpectAsync(200);
        Assert.Equal(Bytes(a), await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/64_128_192"));
        Assert.Equal($"{{\"voxels\": {64 * 64 * 64}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/7"));

        async Task<Dictionary<(int, int, int), byte[]>> Blocks(string url)
        {
            var stream = await _c.GetByteArrayAsync(url);
            var found = new Dictionary<(int, int, int), byte[]>();
            for (int at = 0; at < stream.Length;)
            {
                var key = (BinaryPrimitives.ReadInt32LittleEndian(stream.AsSpan(at)), BinaryPrimitives.ReadInt32LittleEndian(stream.AsSpan(at + 4)), BinaryPrimitives.ReadInt32LittleEndian(stream.AsSpan(at + 8)));
                int n = BinaryPrimitives.ReadInt32LittleEndian(stream.AsSpan(at + 12));
                found[key] = stream.AsSpan(at + 16, n).ToArray();
                at += 16 + n;
            }
            return found;
        }
        var specific = await Blocks($"/api/node/{uuid}/seg/specificblocks?blocks=1,2,3,2,2,3,9,9,9");
        Assert.Equal(2, specific.Count);
        Assert.Equal(a, LabelBlock.Decode(GzipCodec.Decompress(specific[(1, 2, 3)])).Labels);
        Assert.Equal(b, LabelBlock.Decode(GzipCodec.Decompress(specific[(2, 2, 3)])).Labels);
        var unc = await Blocks($"/api/node/{uuid}/seg/specificblocks?blocks=1,2,3&compression=uncompressed");
        Assert.Equal(Bytes(a), unc[(1, 2, 3)]);
        var lz4 = await Blocks($"/api/node/{uuid}/seg/blocks/128_64_64/64_128_192");
        Assert.Equal(2, lz4.Count);
        var decoded = new byte[64 * 64 * 64 * 8];
        Lz4Block.Decode(lz4[(2, 2, 3)], decoded);
        Assert.Equal(Bytes(b), decoded);
        var gz = await Blocks($"/api/node/{uuid}/seg/blocks/128_64_64/64_128_192?compression=gzip");
        Assert.Equal(Bytes(a), GzipCodec.Decompress(gz[(1, 2, 3)]));
        // After a merge, block output carries bodies; supervoxels=true the stored ids.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent($"[7, {a[0]}]"))).ExpectAsync(200);
        var mapped = LabelBlock.Decode(GzipCodec.Decompress((await Blocks($"/api/node/{uuid}/seg/specificblocks?blocks=1,2,3"))[(1, 2, 3)])).Labels;
        Assert.Equal(a.Select(l => l == a[0] ? 7UL : l).ToArray(), mapped);
        var raw = LabelBlock.Decode(GzipCodec.Decompress((await Blocks($"/api/node/{uuid}/seg/specificblocks?blocks=1,2,3&supervoxels=true"))[(1, 2, 3)])).Labels;
        Assert.Equal(a, raw);
        // Blocks stored without indexing, then overwritten by an indexed write: no failure, the new voxels are counted.
        var unindexed = Enumerable.Repeat(9UL, 64 * 64 * 64).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/blocks?noindexing=true", new ByteArrayContent(Frame((5, 5, 5), GzipCodec.Compress(LabelBlock.Encode(unindexed, (64, 64, 64))))))).ExpectAsync(200);
        await (await _c.GetAsync($"/api/node/{uuid}/seg/size/9")).ExpectAsync(404);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/320_320_320", new ByteArrayContent(Bytes(Enumerable.Repeat(11UL, 64 * 64 * 64).ToArray())))).ExpectAsync(200);
        Assert.Equal($"{{\"voxels\": {64 * 64 * 64}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/11"));
    }

    private static byte[] Frame((int X, int Y, int Z) b, byte[] payload)
    {
        var f = new byte[16 + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(f, b.X);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(4), b.Y);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(8), b.Z);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(12), payload.Length);
        payload.CopyTo(f, 16);
        return f;
    }

    [Fact]
    public async Task Bad_label_blocks_are_refused_and_nothing_is_stored()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var good = GzipCodec.Compress(LabelBlock.Encode(Enumerable.Repeat(3UL, 64 * 64 * 64).ToArray(), (64, 64, 64)));
        var mixed = new ulong[64 * 64 * 64];
        for (int i = 0; i < mixed.Length; i++) mixed[i] = (ulong)(i % 5 + 1);
        var dvid = LabelBlock.Encode(mixed, (64, 64, 64));
        var cases = new (string Why, byte[] Body, string Message)[]
        {
            ("truncated header", Frame((0, 0, 0), good).Concat(new byte[7]).ToArray(), "truncated"),
            ("zero length", Frame((0, 0, 0), good).Concat(Frame((1, 0, 0), [])).ToArray(), "illegal zero length block at block (1, 0, 0)"),
            ("length past end", Frame((0, 0, 0), good)[..^5], "declares"),
            ("not gzip", Frame((0, 0, 0), good).Concat(Frame((1, 0, 0), [1, 2, 3, 4, 5])).ToArray(), "not valid gzip"),
            ("header disagrees with length", Frame((0, 0, 0), good).Concat(Frame((1, 0, 0), GzipCodec.Compress(dvid[..^3]))).ToArray(), "disagrees"),
            ("wrong block size", Frame((0, 0, 0), good).Concat(Frame((1, 0, 0), GzipCodec.Compress(LabelBlock.Encode(new ulong[512], (8, 8, 8))))).ToArray(), "instance's blocks are 64x64x64"),
        };
        foreach (var (why, body, message) in cases)
        {
            var r = await _c.PostAsync($"/api/node/{uuid}/seg/blocks", new ByteArrayContent(body));
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, why);
            await r.ExpectErrorAsync(400, message);
        }
        // Nothing from any of them was stored (each started with a good block).
        await (await _c.GetAsync($"/api/node/{uuid}/seg/maxlabel")).ExpectErrorAsync(400, "No maximum label");
        Assert.Equal(new byte[64 * 64 * 64 * 8], await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0"));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevol/3")).ExpectAsync(404);
        // Wrong raw body length, bad LZ4, bad gzip.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(new byte[100]))).ExpectErrorAsync(400);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?compression=lz4", new ByteArrayContent(new byte[100]))).ExpectErrorAsync(400, "LZ4");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?compression=gzip", new ByteArrayContent(new byte[100]))).ExpectErrorAsync(400, "gzip");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?scale=x")).ExpectErrorAsync(400, "bad scale");
        await (await GetWithBody($"/api/node/{uuid}/seg/labels", "[[1,2]]")).ExpectErrorAsync(400, "triples");
        await (await GetWithBody($"/api/node/{uuid}/seg/labels?hash=00", "[[1,2,3]]")).ExpectErrorAsync(400, "content hash incorrect");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/nextlabel/0", new ByteArrayContent([]))).ExpectErrorAsync(400);
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevol/1?format=weird")).ExpectErrorAsync(400, "format");
    }

    [Fact]
    public async Task Nextlabel_never_hands_out_an_id_twice_under_concurrency()
    {
        var uuid = await RepoWith("labelmap", "seg");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Bytes(Enumerable.Repeat(500UL, 64 * 64 * 64).ToArray())))).ExpectAsync(200);
        var ranges = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            var r = await _c.PostAsync($"/api/node/{uuid}/seg/nextlabel/{i + 1}", new ByteArrayContent([]));
            await r.ExpectAsync(200);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            return (Start: doc.RootElement.GetProperty("start").GetUInt64(), End: doc.RootElement.GetProperty("end").GetUInt64(), Count: (ulong)(i + 1));
        }));
        var ids = new HashSet<ulong>();
        foreach (var (start, end, count) in ranges)
        {
            Assert.Equal(count, end - start + 1);
            Assert.True(start > 500, "allocations start above the largest written label");
            for (var id = start; id <= end; id++) Assert.True(ids.Add(id), $"id {id} handed out twice");
        }
        // A later version of the repo continues the same sequence.
        await _c.CommitAsync(uuid);
        var child = await _c.NewVersionAsync(uuid);
        using var next = JsonDocument.Parse(await (await _c.PostAsync($"/api/node/{child}/seg/nextlabel/1", new ByteArrayContent([]))).Content.ReadAsStringAsync());
        Assert.Equal(ids.Max() + 1, next.RootElement.GetProperty("start").GetUInt64());
    }

    [Fact]
    public async Task Versions_keep_their_own_bodies()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var volume = new ulong[64 * 64 * 64];
        for (int i = 0; i < volume.Length; i++) volume[i] = i < volume.Length / 2 ? 1UL : 2UL;
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        await _c.CommitAsync(uuid);
        var child = await _c.NewVersionAsync(uuid);
        await (await _c.PostAsync($"/api/node/{child}/seg/merge", new StringContent("[1, 2]"))).ExpectAsync(200);
        Assert.Equal("{\"Label\": 1}", await _c.GetStringAsync($"/api/node/{child}/seg/label/0_0_63"));
        Assert.Equal("{\"Label\": 2}", await _c.GetStringAsync($"/api/node/{uuid}/seg/label/0_0_63"));
        Assert.Equal($"{{\"voxels\": {volume.Length}}}", await _c.GetStringAsync($"/api/node/{child}/seg/size/1"));
        Assert.Equal($"{{\"voxels\": {volume.Length / 2}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/1"));
        // The locked parent refuses mutations.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[1, 2]"))).ExpectErrorAsync(400, "locked");
    }

    /// <summary>2×2×2 majority vote written independently of the server's: count, take the largest count, ties to the smaller label.</summary>
    private static ulong[] Halve(ulong[] v, int n)
    {
        int h = n / 2;
        var r = new ulong[h * h * h];
        for (int z = 0; z < h; z++)
        for (int y = 0; y < h; y++)
        for (int x = 0; x < h; x++)
        {
            var counts = new Dictionary<ulong, int>();
            for (int dz = 0; dz < 2; dz++) for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++)
            {
                var l = v[((2 * z + dz) * n + 2 * y + dy) * n + 2 * x + dx];
                counts[l] = counts.GetValueOrDefault(l) + 1;
            }
            r[(z * h + y) * h + x] = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
        }
        return r;
    }

    [Fact]
    public async Task Coarser_scales_follow_every_write()
    {
        var uuid = await RepoWith("labelmap", "seg", new { MaxDownresLevel = "2" });
        var volume = Segmentation128(3);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        var s1 = Halve(volume, 128);
        var s2 = Halve(s1, 64);
        Assert.Equal(s1, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?scale=1")));
        Assert.Equal(s2, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/32_32_32/0_0_0?scale=2")));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/raw/0_1_2/32_32_32/0_0_0?scale=3")).ExpectErrorAsync(400, "MaxDownresLevel");
        // Neuroglancer reads coarse levels as compressed segmentation.
        var cseg = await _c.GetAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?compression=googlegzip&scale=1");
        Assert.Equal(s1, CompressedSegmentation.Decode(GzipCodec.Decompress(await cseg.Content.ReadAsByteArrayAsync()), (64, 64, 64)));

        // Overwrite a corner; both levels follow.
        var patch = Enumerable.Repeat(4321UL, 40 * 40 * 40).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/40_40_40/70_70_70", new ByteArrayContent(Bytes(patch)))).ExpectAsync(200);
        for (int z = 70; z < 110; z++) for (int y = 70; y < 110; y++) for (int x = 70; x < 110; x++) volume[(z * 128 + y) * 128 + x] = 4321;
        s1 = Halve(volume, 128);
        Assert.Equal(s1, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?scale=1")));
        Assert.Equal(Halve(s1, 64), Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/32_32_32/0_0_0?scale=2")));
        Assert.Equal("{\"Label\": 4321}", await _c.GetStringAsync($"/api/node/{uuid}/seg/label/45_45_45?scale=1"));
        // A body's sparse volume at scale 1 is its voxels in the level-1 volume.
        Assert.Equal(VoxelsOf(s1, 64, l => l == 4321), VoxelsOfRle(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/4321?scale=1")));
        // Blocks posted at a coarse level are stored there as given.
        var coarse = Enumerable.Repeat(77UL, 64 * 64 * 64).ToArray();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/blocks?scale=2", new ByteArrayContent(Frame((1, 0, 0), GzipCodec.Compress(LabelBlock.Encode(coarse, (64, 64, 64))))))).ExpectAsync(200);
        Assert.Equal("{\"Label\": 77}", await _c.GetStringAsync($"/api/node/{uuid}/seg/label/70_5_5?scale=2"));
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?scale=1", new ByteArrayContent(new byte[64 * 64 * 64 * 8]))).ExpectErrorAsync(400, "scale 0");
        // The extents are level 0's: coarse writes do not move them.
        using var info = await _c.GetJsonAsync($"/api/node/{uuid}/seg/info");
        Assert.Equal("[0,0,0]", info.RootElement.GetProperty("Extended").GetProperty("MinPoint").GetRawText());
        Assert.Equal("[127,127,127]", info.RootElement.GetProperty("Extended").GetProperty("MaxPoint").GetRawText());
    }

    private static byte[] Rle(IEnumerable<(int X, int Y, int Z, int Len)> runs)
    {
        var list = runs.ToList();
        var b = new byte[12 + 16 * list.Count];
        b[1] = 3;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12 + 16 * i), list[i].X);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16 + 16 * i), list[i].Y);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(20 + 16 * i), list[i].Z);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24 + 16 * i), list[i].Len);
        }
        return b;
    }

    [Fact]
    public async Task Split_supervoxel_relabels_voxels_and_keeps_the_body()
    {
        var uuid = await RepoWith("labelmap", "seg", new { MaxDownresLevel = "1" });
        var volume = Segmentation128(2);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[1000, 1001]"))).ExpectAsync(200);
        // Split off the part of supervoxel 1001 with z < 64 (runs over whole rows; only 1001's voxels change).
        var rows = Enumerable.Range(0, 64).SelectMany(z => Enumerable.Range(0, 128).Select(y => (0, y, z, 128)));
        var r = await _c.PostAsync($"/api/node/{uuid}/seg/split-supervoxel/1001?split=5001&remain=5002", new ByteArrayContent(Rle(rows)));
        await r.ExpectAsync(200);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal(5001UL, doc.RootElement.GetProperty("SplitSupervoxel").GetUInt64());
        Assert.Equal(5002UL, doc.RootElement.GetProperty("RemainSupervoxel").GetUInt64());
        for (int i = 0; i < volume.Length; i++) if (volume[i] == 1001) volume[i] = i / (128 * 128) < 64 ? 5001UL : 5002UL;
        Assert.Equal(volume, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0?supervoxels=true")));
        Assert.Equal("[1000,1000,1000,0]", await (await GetWithBody($"/api/node/{uuid}/seg/mapping", "[1000,5001,5002,1001]")).Content.ReadAsStringAsync());
        Assert.Equal($"{{\"voxels\": {volume.Count(l => l is 1000 or 5001 or 5002)}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/1000"));
        Assert.Equal(VoxelsOf(volume, 128, l => l == 5001), VoxelsOfRle(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/sparsevol/5001?supervoxels=true")));
        Assert.Equal(Halve(volume, 128), Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?scale=1&supervoxels=true")));
        // Bad splits change nothing.
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-supervoxel/1001", new ByteArrayContent(Rle(rows)))).ExpectErrorAsync(400, "does not exist");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-supervoxel/5002", new ByteArrayContent(Rle(rows)[..20]))).ExpectErrorAsync(400, "runs");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-supervoxel/5002?split=1000", new ByteArrayContent(Rle(rows)))).ExpectErrorAsync(400, "already exists");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split/1000", new ByteArrayContent(Rle(rows)))).ExpectErrorAsync(400, "deactivated");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-supervoxel/5002?split=7001&remain=7001", new ByteArrayContent(Rle(rows)))).ExpectErrorAsync(400, "must differ");
        // A run of 2^31-1 voxels costs no more than the supervoxel's blocks.
        int some = Array.IndexOf(volume, 5002UL);
        int ry = some / 128 % 128, rz = some / (128 * 128);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await (await _c.PostAsync($"/api/node/{uuid}/seg/split-supervoxel/5002?split=7001&remain=7002", new ByteArrayContent(Rle([(-1_000_000_000, ry, rz, int.MaxValue)])))).ExpectAsync(200);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"a huge run took {sw.Elapsed}");
        for (int i = 0; i < volume.Length; i++) if (volume[i] == 5002) volume[i] = i / 128 % 128 == ry && i / (128 * 128) == rz ? 7001UL : 7002UL;
        Assert.Equal(volume, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0?supervoxels=true")));
        Assert.Equal(volume, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0?supervoxels=true")));
    }

    [Fact]
    public async Task Renumber_moves_a_body_to_a_new_id()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var volume = Segmentation128(4);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[1002, 1003]"))).ExpectAsync(200);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/renumber", new StringContent("[9000, 1002]"))).ExpectAsync(200);
        Assert.Equal(volume.Select(l => l is 1002 or 1003 ? 9000UL : l).ToArray(), Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0")));
        await (await _c.GetAsync($"/api/node/{uuid}/seg/size/1002")).ExpectAsync(404);
        Assert.Equal($"{{\"voxels\": {volume.Count(l => l is 1002 or 1003)}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/9000"));
        await (await _c.PostAsync($"/api/node/{uuid}/seg/renumber", new StringContent("[1004, 1005]"))).ExpectErrorAsync(400, "already exists");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/renumber", new StringContent("[1, 2, 3]"))).ExpectErrorAsync(400, "pairs");
        await (await _c.PostAsync($"/api/node/{uuid}/seg/renumber", new StringContent("[9100, 1004, 9101, 1004]"))).ExpectErrorAsync(400, "repeat");
        using var next = await _c.GetJsonAsync($"/api/node/{uuid}/seg/nextlabel");
        Assert.True(next.RootElement.GetProperty("nextlabel").GetUInt64() > 9000);
    }

    [Fact]
    public async Task Concurrent_merges_and_cleaves_leave_a_consistent_mapping()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var volume = Segmentation128(6);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        // Merge 1001..1011 into 1000 from many requests at once, while cleaves of 1000 run too.
        var merges = Enumerable.Range(1001, 11).Select(l => _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent($"[1000, {l}]")));
        var cleaves = Enumerable.Range(0, 4).Select(_ => _c.PostAsync($"/api/node/{uuid}/seg/cleave/1000", new StringContent("[1000]")));
        var results = await Task.WhenAll(merges.Concat(cleaves));
        Assert.All(results.Take(11), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        // A cleave either succeeded (1000 had other supervoxels then) or was refused with a clear 400.
        foreach (var r in results.Skip(11))
            Assert.True(r.StatusCode == HttpStatusCode.OK || (r.StatusCode == HttpStatusCode.BadRequest && (await r.Content.ReadAsStringAsync()).Contains("supervoxel")), await r.Content.ReadAsStringAsync());
        // Whatever the order, every voxel is in exactly one body and the indices agree with the voxels.
        var bodies = Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0"));
        foreach (var body in bodies.Distinct())
            Assert.Equal($"{{\"voxels\": {bodies.Count(l => l == body)}}}", await _c.GetStringAsync($"/api/node/{uuid}/seg/size/{body}"));
        var svs = Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0?supervoxels=true"));
        Assert.Equal(volume, svs);
        var ids = await _c.GetStringAsync($"/api/node/{uuid}/seg/mutations");
        using var log = JsonDocument.Parse(ids);
        var mutationIds = log.RootElement.EnumerateArray().Select(e => e.GetProperty("MutationID").GetUInt64()).ToList();
        Assert.Equal(mutationIds.Order().ToList(), mutationIds);
        Assert.Equal(mutationIds.Count, mutationIds.Distinct().Count());
    }

    /// <summary>Decodes <c>sparsevol?format=blocks</c> independently: header, then per block a flag and sub-block masks.</summary>
    private static HashSet<(int, int, int)> VoxelsOfMask(byte[] data, ulong label)
    {
        int gx = BitConverter.ToInt32(data, 0), gy = BitConverter.ToInt32(data, 4), gz = BitConverter.ToInt32(data, 8);
        Assert.Equal(label, BitConverter.ToUInt64(data, 12));
        var set = new HashSet<(int, int, int)>();
        int at = 20;
        while (at < data.Length)
        {
            int x0 = BitConverter.ToInt32(data, at), y0 = BitConverter.ToInt32(data, at + 4), z0 = BitConverter.ToInt32(data, at + 8);
            byte flag = data[at + 12];
            at += 13;
            for (int sz = 0; sz < gz; sz++) for (int sy = 0; sy < gy; sy++) for (int sx = 0; sx < gx; sx++)
            {
                byte sub = flag == 1 ? (byte)1 : data[at++];
                for (int i = 0; i < 512; i++)
                {
                    bool on = sub == 1 || (sub == 2 && (data[at + (i >> 3)] & (1 << (i & 7))) != 0);
                    if (on) set.Add((x0 + sx * 8 + i % 8, y0 + sy * 8 + i / 8 % 8, z0 + sz * 8 + i / 64));
                }
                if (sub == 2) at += 64;
            }
        }
        return set;
    }

    [Fact]
    public async Task Labelarray_merges_rewrite_voxels()
    {
        var uuid = await RepoWith("labelarray", "seg");
        var volume = Segmentation128(8);
        await (await _c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(Bytes(volume)))).ExpectAsync(200);
        var r = await _c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[1000, 1001, 1002]"));
        await r.ExpectAsync(200);
        Assert.Equal("", await r.Content.ReadAsStringAsync());
        var expected = volume.Select(l => l is 1001 or 1002 ? 1000UL : l).ToArray();
        Assert.Equal(expected, Labels(await _c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/128_128_128/0_0_0")));
        using (var size = await _c.GetJsonAsync($"/api/node/{uuid}/seg/sparsevol-size/1000"))
            Assert.Equal(expected.Count(l => l == 1000), size.RootElement.GetProperty("voxels").GetInt64());
        await (await _c.GetAsync($"/api/node/{uuid}/seg/sparsevol-size/1001")).ExpectAsync(404);
        // labelarray has no supervoxels to cleave (DVID's labelarray has no such route).
        await (await _c.PostAsync($"/api/node/{uuid}/seg/cleave/1000", new StringContent("[1000]"))).ExpectErrorAsync(400, "Bad API call");
    }

    [Fact]
    public async Task Blocks_outside_the_voxel_grid_are_refused()
    {
        var uuid = await RepoWith("labelmap", "seg");
        var block = GzipCodec.Compress(LabelBlock.Encode(Enumerable.Repeat(3UL, 64 * 64 * 64).ToArray(), (64, 64, 64)));
        await (await _c.PostAsync($"/api/node/{uuid}/seg/blocks", new ByteArrayContent(Frame((1 << 26, 0, 0), block)))).ExpectErrorAsync(400, "outside the voxel grid");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/specificblocks?blocks=0,{-(1 << 26)},0")).ExpectErrorAsync(400, "outside the voxel grid");
        await (await _c.GetAsync($"/api/node/{uuid}/seg/maxlabel")).ExpectErrorAsync(400, "No maximum label");
    }
}

/// <summary>Body splits, enabled by Diced:AllowLabelmapSplit.</summary>
public class LabelSplitTests : IDisposable
{
    private readonly DicedFactory _f = new();

    public LabelSplitTests() => _f.Settings["Diced:AllowLabelmapSplit"] = "true";

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Split_moves_voxels_to_a_new_body_with_new_supervoxels()
    {
        var c = _f.Client;
        var uuid = await c.CreateRepoAsync();
        await c.CreateInstanceAsync(uuid, "labelmap", "seg");
        var volume = new ulong[64 * 64 * 64];
        for (int i = 0; i < volume.Length; i++) volume[i] = (i % 64) < 32 ? 10UL : 20UL;
        await (await c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(volume.AsSpan()).ToArray()))).ExpectAsync(200);
        await (await c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[10, 20]"))).ExpectAsync(200);
        // Split the z >= 48 slab off body 10.
        var runs = new List<(int, int, int, int)>();
        for (int z = 48; z < 64; z++) for (int y = 0; y < 64; y++) runs.Add((0, y, z, 64));
        var body = new byte[12 + 16 * runs.Count];
        body[1] = 3;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), (uint)runs.Count);
        for (int i = 0; i < runs.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(12 + 16 * i + 4), runs[i].Item2);
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(12 + 16 * i + 8), runs[i].Item3);
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(12 + 16 * i + 12), 64);
        }
        var r = await c.PostAsync($"/api/node/{uuid}/seg/split/10", new ByteArrayContent(body));
        await r.ExpectAsync(200);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var newBody = doc.RootElement.GetProperty("label").GetUInt64();
        var bodies = MemoryMarshal.Cast<byte, ulong>(await c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0")).ToArray();
        for (int i = 0; i < bodies.Length; i++) Assert.Equal(i / (64 * 64) >= 48 ? newBody : 10UL, bodies[i]);
        Assert.Equal($"{{\"voxels\": {16 * 64 * 64}}}", await c.GetStringAsync($"/api/node/{uuid}/seg/size/{newBody}"));
        Assert.Equal($"{{\"voxels\": {48 * 64 * 64}}}", await c.GetStringAsync($"/api/node/{uuid}/seg/size/10"));
        var svs = MemoryMarshal.Cast<byte, ulong>(await c.GetByteArrayAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0?supervoxels=true")).ToArray();
        Assert.Equal(4, svs.Distinct().Count()); // 10, 20 and one new supervoxel for each in the split part
    }
}

public class LabelIndexKeyTests
{
    [Fact]
    public void Block_keys_pack_as_appendix_A6()
    {
        Assert.Equal(13194143727617UL, Diced.Datastore.Types.Labels.LabelIndex.PackBlock(new(1, 2, 3)));
        Assert.Equal(1048577UL, Diced.Datastore.Types.Labels.LabelIndex.PackBlock(new(-1, 0, 0)));
        foreach (var p in new Diced.Datastore.Geometry.Point3[] { new(1, 2, 3), new(-1, 0, 0), new(-1000, 77, -5) })
            Assert.Equal(p, Diced.Datastore.Types.Labels.LabelIndex.UnpackBlock(Diced.Datastore.Types.Labels.LabelIndex.PackBlock(p)));
    }
}

/// <summary>Label allocation and the mutation log survive a restart of the server.</summary>
public class LabelPersistenceTests
{
    [Fact]
    public async Task Next_labels_and_mutation_ids_continue_after_a_restart()
    {
        var dir = TempDir.Create("diced-labels");
        try
        {
            string uuid;
            ulong lastStart, lastMutation;
            using (var f = new DicedFactory())
            {
                f.Settings["Diced:Data"] = dir;
                var c = f.Client;
                uuid = await c.CreateRepoAsync();
                await c.CreateInstanceAsync(uuid, "labelmap", "seg");
                var volume = new ulong[64 * 64 * 64];
                for (int i = 0; i < volume.Length; i++) volume[i] = i < volume.Length / 2 ? 10UL : 20UL;
                await (await c.PostAsync($"/api/node/{uuid}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(volume.AsSpan()).ToArray()))).ExpectAsync(200);
                using var reserved = JsonDocument.Parse(await (await c.PostAsync($"/api/node/{uuid}/seg/nextlabel/100", new ByteArrayContent([]))).Content.ReadAsStringAsync());
                lastStart = reserved.RootElement.GetProperty("start").GetUInt64();
                using var merge = JsonDocument.Parse(await (await c.PostAsync($"/api/node/{uuid}/seg/merge", new StringContent("[10, 20]"))).Content.ReadAsStringAsync());
                lastMutation = merge.RootElement.GetProperty("MutationID").GetUInt64();
            }
            using (var f = new DicedFactory())
            {
                f.Settings["Diced:Data"] = dir;
                var c = f.Client;
                using var reserved = JsonDocument.Parse(await (await c.PostAsync($"/api/node/{uuid}/seg/nextlabel/1", new ByteArrayContent([]))).Content.ReadAsStringAsync());
                Assert.Equal(lastStart + 100, reserved.RootElement.GetProperty("start").GetUInt64());
                var cleave = await c.PostAsync($"/api/node/{uuid}/seg/cleave/10", new StringContent("[20]"));
                await cleave.ExpectAsync(200);
                using var doc = JsonDocument.Parse(await cleave.Content.ReadAsStringAsync());
                Assert.True(doc.RootElement.GetProperty("MutationID").GetUInt64() > lastMutation);
                Assert.True(doc.RootElement.GetProperty("CleavedLabel").GetUInt64() > lastStart + 100);
                using var log = await c.GetJsonAsync($"/api/node/{uuid}/seg/mutations");
                Assert.Equal(["merge-complete", "cleave-complete"], log.RootElement.EnumerateArray().Select(e => e.GetProperty("Action").GetString()).ToArray());
            }
        }
        finally
        {
            TempDir.Delete(dir);
        }
    }
}
