using System.Buffers.Binary;
using Diced.Cli;
using Diced.Client;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>
/// Issue 18: inputs of more than three dimensions (HDF5 as h5py writes it, zarr as zarr-python writes it) become
/// ndarray instances of the same shape, and sharded zarr v3 arrays are read; every element checked.
/// </summary>
public class DicedIngestNdTests() : CliTest("diced-ingest-nd")
{
    /// <summary>All elements of an n-D array, packed x fastest (the order numpy's C order writes (t, z, y, x) in).</summary>
    private async Task<byte[]> ReadAll(string name, int[] shapeDvid)
    {
        await using var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 });
        var array = await (await store.OpenRepoAsync("lab")).GetArrayAsync(name);
        Assert.True(array.IsNd);
        Assert.Equal(shapeDvid.Reverse(), array.Shape!);
        return await array.ReadRawAsync(new int[shapeDvid.Length], shapeDvid);
    }

    [Fact]
    public async Task Four_and_five_dimensional_hdf5_and_zarr_inputs_become_ndarrays_element_for_element()
    {
        DebianPython.Require("h5py", "python3-h5py");
        DebianPython.Require("zarr", "python3-zarr");
        DebianPython.Run("""
            import sys, h5py, zarr, numpy as np
            d = sys.argv[1]
            rng = np.random.default_rng(8)
            movie = rng.integers(0, 65535, size=(3, 20, 30, 70), dtype=np.uint16)   # t, z, y, x
            five = rng.integers(0, 255, size=(2, 3, 9, 10, 11), dtype=np.uint8)     # c, t, z, y, x
            with h5py.File(d + '/nd.h5', 'w') as f:
                f.create_dataset('movie', data=movie, chunks=(1, 16, 16, 32), compression='gzip')
            z = zarr.open(d + '/five.zarr', mode='w', shape=five.shape, chunks=(1, 2, 4, 8, 8), dtype='u1')
            z[:] = five
            movie.tofile(d + '/movie.raw')
            five.tofile(d + '/five.raw')
            """, Dir);
        var h5 = await Diced("ingest", Path.Combine(Dir, "nd.h5") + ":/movie", "--dtype", "uint16", "--repo", "lab", "--array", "movie", "--create", "--store", Store);
        Assert.True(h5.Code == 0, h5.Err);
        Assert.Contains("70x30x20x3 Uint16", h5.Out);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Dir, "movie.raw")), await ReadAll("movie", [70, 30, 20, 3]));

        var zarr = await Diced("ingest", Path.Combine(Dir, "five.zarr"), "--repo", "lab", "--array", "five", "--create", "--resume", "--store", Store);
        Assert.True(zarr.Code == 0, zarr.Err);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Dir, "five.raw")), await ReadAll("five", [11, 10, 9, 3, 2]));
        // Again with --resume: every part is already there.
        var again = await Diced("ingest", Path.Combine(Dir, "five.zarr"), "--repo", "lab", "--array", "five", "--resume", "--store", Store);
        Assert.Contains("(6 of 6 parts already stored)", again.Out);
        // A 4-D input into the 5-D array: a clear error, nothing written.
        var wrong = await Diced("ingest", Path.Combine(Dir, "nd.h5") + ":/movie", "--dtype", "uint16", "--repo", "lab", "--array", "five", "--store", Store);
        Assert.Equal(1, wrong.Code);
        Assert.Contains("the input has 4 dimensions; array \"five\" has 5", wrong.Err);
    }

    /// <summary>Writes a sharded zarr v3 array of (z, y, x) = (20, 30, 40) uint16: shards of 16³ holding 8³ inner chunks
    /// (gzip), the index at <paramref name="location"/> with or without its CRC32C; one shard and one inner chunk absent.</summary>
    private async Task<(string Dir, byte[] Data)> WriteShardedAsync(string location, bool crc)
    {
        var data = new byte[20 * 30 * 40 * 2];
        new Random(11).NextBytes(data);
        var dir = Path.Combine(Dir, $"sharded-{location}-{crc}.zarr");
        Directory.CreateDirectory(dir);
        var indexCodecs = new List<object> { new { name = "bytes", configuration = new { endian = "little" } } };
        if (crc) indexCodecs.Add(new { name = "crc32c" });
        await File.WriteAllTextAsync(Path.Combine(dir, "zarr.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            zarr_format = 3, node_type = "array", shape = new[] { 20, 30, 40 }, data_type = "uint16", fill_value = 3,
            chunk_grid = new { name = "regular", configuration = new { chunk_shape = new[] { 16, 16, 16 } } },
            codecs = new object[] { new { name = "sharding_indexed", configuration = new
            {
                chunk_shape = new[] { 8, 8, 8 }, index_location = location, index_codecs = indexCodecs,
                codecs = new object[] { new { name = "bytes", configuration = new { endian = "little" } }, new { name = "gzip", configuration = new { level = 1 } } },
            } } },
        }));
        for (int sz = 0; sz < 2; sz++)
            for (int sy = 0; sy < 2; sy++)
                for (int sx = 0; sx < 3; sx++)
                {
                    if ((sz, sy, sx) == (1, 1, 2)) continue; // no shard: the fill value
                    var chunks = new List<byte[]>();
                    var index = new byte[8 * 16]; // 2x2x2 inner chunks per shard
                    for (int i = 0; i < 8; i++)
                    {
                        int cz = sz * 2 + i / 4, cy = sy * 2 + i / 2 % 2, cx = sx * 2 + i % 2;
                        if ((sz, sy, sx, i) == (0, 0, 0, 5) || cz * 8 >= 20 || cy * 8 >= 30 || cx * 8 >= 40)
                        {
                            BinaryPrimitives.WriteUInt64LittleEndian(index.AsSpan(16 * i), ulong.MaxValue);
                            BinaryPrimitives.WriteUInt64LittleEndian(index.AsSpan(16 * i + 8), ulong.MaxValue);
                            continue;
                        }
                        var raw = new byte[8 * 8 * 8 * 2];
                        for (int z = 0; z < 8 && cz * 8 + z < 20; z++)
                            for (int y = 0; y < 8 && cy * 8 + y < 30; y++)
                                for (int x = 0; x < 8 && cx * 8 + x < 40; x++)
                                    Array.Copy(data, (((cz * 8 + z) * 30 + cy * 8 + y) * 40 + cx * 8 + x) * 2, raw, ((z * 8 + y) * 8 + x) * 2, 2);
                        var stored = global::Diced.Codecs.GzipCodec.Compress(raw);
                        long at = (location == "start" ? index.Length + (crc ? 4 : 0) : 0) + chunks.Sum(c => c.Length);
                        BinaryPrimitives.WriteUInt64LittleEndian(index.AsSpan(16 * i), (ulong)at);
                        BinaryPrimitives.WriteUInt64LittleEndian(index.AsSpan(16 * i + 8), (ulong)stored.Length);
                        chunks.Add(stored);
                    }
                    var indexBytes = crc ? [.. index, .. BitConverter.GetBytes(~ZarrShards.Crc32C(index))] : index;
                    byte[] shard = location == "start" ? [.. indexBytes, .. chunks.SelectMany(c => c)] : [.. chunks.SelectMany(c => c), .. indexBytes];
                    var path = Path.Combine(dir, "c", sz.ToString(), sy.ToString(), sx.ToString());
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllBytesAsync(path, shard);
                }
        return (dir, data);
    }

    [Theory]
    [InlineData("end", true)]
    [InlineData("start", false)]
    public async Task Sharded_zarr_v3_arrays_arrive_voxel_for_voxel(string location, bool crc)
    {
        var (dir, data) = await WriteShardedAsync(location, crc);
        var r = await Diced("ingest", dir, "--dtype", "uint16", "--repo", "lab", "--array", "s", "--create", "--store", Store);
        Assert.True(r.Code == 0, r.Err);
        var back = Path.Combine(Dir, "back.raw");
        Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", "s", "--size", "40,30,20", "--out", back, "--store", Store)).Code);
        var got = await File.ReadAllBytesAsync(back);
        for (int z = 0; z < 20; z++)
            for (int y = 0; y < 30; y++)
                for (int x = 0; x < 40; x++)
                {
                    int i = ((z * 30 + y) * 40 + x) * 2;
                    bool absent = (z >= 16 && y >= 16 && x >= 32) || (z is >= 8 and < 16 && y < 8 && x is >= 8 and < 16);
                    int expected = absent ? 3 : BitConverter.ToUInt16(data, i);
                    Assert.True(expected == BitConverter.ToUInt16(got, i), $"voxel {x},{y},{z}");
                }
    }

    [Fact]
    public async Task Damaged_shards_and_unsupported_sharding_are_one_line_errors()
    {
        var (dir, _) = await WriteShardedAsync("end", true);
        var shard = Path.Combine(dir, "c", "0", "0", "1");
        var bytes = await File.ReadAllBytesAsync(shard);
        bytes[^10] ^= 0xFF; // inside the index
        await File.WriteAllBytesAsync(shard, bytes);
        var r = await Diced("ingest", dir, "--dtype", "uint16", "--repo", "lab", "--array", "bad", "--create", "--store", Store);
        Assert.Equal(1, r.Code);
        Assert.Contains("CRC32C does not match", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));

        var meta = await File.ReadAllTextAsync(Path.Combine(dir, "zarr.json"));
        await File.WriteAllTextAsync(Path.Combine(dir, "zarr.json"), meta.Replace("\"chunk_shape\":[8,8,8]", "\"chunk_shape\":[6,8,8]"));
        r = await Diced("ingest", dir, "--dtype", "uint16", "--repo", "lab", "--array", "bad", "--create", "--store", Store);
        Assert.Contains("does not divide the shard shape", r.Err);
        await File.WriteAllTextAsync(Path.Combine(dir, "zarr.json"), meta.Replace("\"name\":\"crc32c\"", "\"name\":\"adler32\""));
        r = await Diced("ingest", dir, "--dtype", "uint16", "--repo", "lab", "--array", "bad", "--create", "--store", Store);
        Assert.Contains("shard index codecs bytes, adler32 are not supported", r.Err);

        // An index entry that points past the shard's end.
        var (dir2, _) = await WriteShardedAsync("start", false);
        var shard2 = Path.Combine(dir2, "c", "0", "0", "0");
        var bytes2 = await File.ReadAllBytesAsync(shard2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes2.AsSpan(0), ulong.MaxValue - 3); // first inner chunk's offset
        BinaryPrimitives.WriteUInt64LittleEndian(bytes2.AsSpan(8), 100);
        await File.WriteAllBytesAsync(shard2, bytes2);
        r = await Diced("ingest", dir2, "--dtype", "uint16", "--repo", "lab", "--array", "bad", "--create", "--store", Store);
        Assert.Equal(1, r.Code);
        Assert.Contains("beyond its end", r.Err);
    }

    [Fact]
    public async Task Inputs_thicker_than_a_2d_arrays_plane_are_refused_before_anything_is_written()
    {
        var raw = Path.Combine(Dir, "stack.raw");
        await File.WriteAllBytesAsync(raw, new byte[16 * 16 * 3]);
        await using (var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 }))
            await (await store.CreateRepoAsync("lab")).CreateArrayAsync("plane", ArrayDtype.Uint8, dims: 2);
        var r = await Diced("ingest", raw, "--size", "16,16,3", "--repo", "lab", "--array", "plane", "--store", Store);
        Assert.Equal(1, r.Code);
        Assert.Contains("has 2 dimensions; the input is 16x16x3 at 0,0,0", r.Err);
        r = await Diced("ingest", raw, "--size", "16,48,1", "--offset", "0,0,5", "--repo", "lab", "--array", "plane", "--store", Store);
        Assert.Contains("has 2 dimensions; the input is 16x48x1 at 0,0,5", r.Err);
        await using var check = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 });
        Assert.Null(await (await (await check.OpenRepoAsync("lab")).GetArrayAsync("plane")).ExtentsAsync());
    }
}
