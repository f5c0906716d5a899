using Diced.Cli;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>Issue 18: <c>diced ingest array.zarr</c> reads zarr v2 arrays as zarr-python writes them, every voxel checked.</summary>
public class DicedIngestZarrTests() : CliTest("diced-zarr")
{
    [Fact]
    public async Task Zarr_arrays_with_each_compressor_arrive_voxel_for_voxel()
    {
        DebianPython.Require("zarr", "python3-zarr");
        // Partial edge chunks, a missing chunk (fill value), nested keys, and each compressor a user is likely to have.
        DebianPython.Run("""
            import sys, zarr, numpy as np, numcodecs
            d = sys.argv[1]
            rng = np.random.default_rng(5)
            vol = rng.integers(0, 60000, size=(70, 90, 110), dtype=np.uint16)
            vol[:, :, 64:] = rng.integers(0, 3, size=(70, 90, 46))  # compressible too
            cases = {
                'blosc_lz4': dict(compressor=numcodecs.Blosc(cname='lz4', clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)),
                'blosc_zstd': dict(compressor=numcodecs.Blosc(cname='zstd', clevel=3, shuffle=numcodecs.Blosc.NOSHUFFLE)),
                'blosc_zlib': dict(compressor=numcodecs.Blosc(cname='zlib', clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)),
                'zlib': dict(compressor=numcodecs.Zlib(level=3)),
                'gzip': dict(compressor=numcodecs.GZip(level=3)),
                'zstd': dict(compressor=numcodecs.Zstd(level=3)),
                'lz4': dict(compressor=numcodecs.LZ4()),
                'raw_nested': dict(compressor=None, dimension_separator='/'),
            }
            for name, kw in cases.items():
                z = zarr.open(d + '/' + name + '.zarr', mode='w', shape=vol.shape, chunks=(32, 32, 32), dtype='u2', fill_value=7, **kw)
                z[:] = vol
            vol.tofile(d + '/vol.raw')
            sparse = zarr.open(d + '/sparse.zarr', mode='w', shape=(40, 40), chunks=(16, 16), dtype='u1', fill_value=9)
            sparse[0:16, 0:16] = 1
            """, Dir);
        var expected = await File.ReadAllBytesAsync(Path.Combine(Dir, "vol.raw"));
        var back = Path.Combine(Dir, "back.raw");
        foreach (var name in new[] { "blosc_lz4", "blosc_zstd", "blosc_zlib", "zlib", "gzip", "zstd", "lz4", "raw_nested" })
        {
            var r = await Diced("ingest", Path.Combine(Dir, name + ".zarr"), "--dtype", "uint16", "--repo", "lab", "--array", name, "--create", "--store", Store);
            Assert.True(r.Code == 0, $"{name}: {r.Err}");
            Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", name, "--size", "110,90,70", "--out", back, "--store", Store)).Code);
            var got = await File.ReadAllBytesAsync(back);
            Assert.True(expected.AsSpan().SequenceEqual(got), $"{name} differs from the input");
        }
        // A chunk never written reads as the fill value.
        Assert.Equal(0, (await Diced("ingest", Path.Combine(Dir, "sparse.zarr"), "--repo", "lab", "--array", "sparse", "--create", "--store", Store)).Code);
        Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", "sparse", "--size", "40,40,1", "--out", back, "--store", Store)).Code);
        var sparse = await File.ReadAllBytesAsync(back);
        Assert.Equal(1, sparse[0]);
        Assert.Equal(9, sparse[39 * 40 + 39]);
    }

    [Fact]
    public async Task Bad_zarr_arrays_are_one_line_errors_and_store_nothing()
    {
        var bad = Path.Combine(Dir, "bad.zarr");
        Directory.CreateDirectory(bad);
        foreach (var (zarray, expected) in new[]
        {
            ("{\"shape\":[4,4,4],\"chunks\":[2,2,2],\"dtype\":\"<f4\",\"compressor\":null,\"order\":\"C\"}", "not an unsigned integer"),
            ("{\"shape\":[4,4,4],\"chunks\":[2,2,2],\"dtype\":\"<u2\",\"compressor\":null,\"order\":\"C\"}", "16-bit integers"),
            ("{\"shape\":[2,2,2,2,2,2,2,2,2],\"chunks\":[1,1,1,1,1,1,1,1,1],\"dtype\":\"|u1\",\"compressor\":null,\"order\":\"C\"}", "9 dimensions; ingest takes 1 to 8"),
            ("{\"shape\":[4,4,4],\"chunks\":[2,2,2],\"dtype\":\"|u1\",\"compressor\":{\"id\":\"bz2\"},\"order\":\"C\"}", "compressor bz2"),
            ("{\"shape\":[4,4,4],\"chunks\":[2,2,2],\"dtype\":\"|u1\",\"compressor\":null,\"order\":\"F\"}", "C-order"),
            ("{\"shape\":[4,-4,4],\"chunks\":[2,2,2],\"dtype\":\"|u1\",\"compressor\":null,\"order\":\"C\"}", "positive integers"),
            ("{\"shape\":[4,4,4],", "not valid JSON"),
        })
        {
            await File.WriteAllTextAsync(Path.Combine(bad, ".zarray"), zarray);
            var r = await Diced("ingest", bad, "--repo", "lab", "--array", "x", "--create", "--store", Store);
            Assert.Equal(1, r.Code);
            Assert.Contains(expected, r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
        Assert.DoesNotContain("lab", (await Diced("repos", "--store", Store)).Out); // nothing was created
        // A corrupt chunk: a clear error naming it (found while reading, after the array was made).
        await File.WriteAllTextAsync(Path.Combine(bad, ".zarray"), "{\"shape\":[4,4,4],\"chunks\":[4,4,4],\"dtype\":\"|u1\",\"compressor\":{\"id\":\"blosc\"},\"order\":\"C\"}");
        await File.WriteAllBytesAsync(Path.Combine(bad, "0.0.0"), [2, 1, 0x21, 1, 64, 0, 0, 0]);
        var corrupt = await Diced("ingest", bad, "--repo", "lab", "--array", "x", "--create", "--store", Store);
        Assert.Equal(1, corrupt.Code);
        Assert.Contains("0.0.0", corrupt.Err);
        Assert.Single(corrupt.Err.Trim().Split('\n'));
    }

    /// <summary>zarr v3 (no writer in Debian's zarr 2.13): arrays written here byte by byte as the v3 spec lays them out.</summary>
    [Theory]
    [InlineData("little", "gzip", "default", "/")]
    [InlineData("big", "zstd", "v2", ".")]
    [InlineData("little", null, "default", ".")]
    public async Task Zarr_v3_arrays_arrive_voxel_for_voxel(string endian, string? compressor, string encoding, string separator)
    {
        int[] shape = [20, 30, 40], chunk = [16, 16, 16];
        var data = new byte[20 * 30 * 40 * 2];
        new Random(9).NextBytes(data);
        var dir = Path.Combine(Dir, "v3.zarr");
        Directory.CreateDirectory(dir);
        var codecs = new List<object> { new { name = "bytes", configuration = new { endian } } };
        if (compressor is not null) codecs.Add(new { name = compressor, configuration = new { level = 3 } });
        await File.WriteAllTextAsync(Path.Combine(dir, "zarr.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            zarr_format = 3, node_type = "array", shape, data_type = "uint16",
            chunk_grid = new { name = "regular", configuration = new { chunk_shape = chunk } },
            chunk_key_encoding = new { name = encoding, configuration = new { separator } },
            fill_value = 5, codecs,
        }));
        for (int kz = 0; kz < 2; kz++)
            for (int ky = 0; ky < 2; ky++)
                for (int kx = 0; kx < 3; kx++)
                {
                    if ((kz, ky, kx) == (1, 1, 2)) continue; // never written: the fill value
                    var bytes = new byte[16 * 16 * 16 * 2];
                    for (int z = 0; z < 16 && kz * 16 + z < 20; z++)
                        for (int y = 0; y < 16 && ky * 16 + y < 30; y++)
                            for (int x = 0; x < 16 && kx * 16 + x < 40; x++)
                            {
                                int from = (((kz * 16 + z) * 30 + ky * 16 + y) * 40 + kx * 16 + x) * 2, to = ((z * 16 + y) * 16 + x) * 2;
                                (bytes[to], bytes[to + 1]) = endian == "big" ? (data[from + 1], data[from]) : (data[from], data[from + 1]);
                            }
                    var stored = compressor switch { "gzip" => global::Diced.Codecs.GzipCodec.Compress(bytes), "zstd" => global::Diced.Codecs.ZstdCodec.Compress(bytes), _ => bytes };
                    var key = (encoding == "default" ? "c" + separator : "") + string.Join(separator, kz, ky, kx);
                    var path = Path.Combine(dir, key.Replace('/', Path.DirectorySeparatorChar));
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllBytesAsync(path, stored);
                }
        var r = await Diced("ingest", dir, "--dtype", "uint16", "--repo", "lab", "--array", "v3", "--create", "--store", Store);
        Assert.True(r.Code == 0, r.Err);
        var back = Path.Combine(Dir, "back.raw");
        Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", "v3", "--size", "40,30,20", "--out", back, "--store", Store)).Code);
        var got = await File.ReadAllBytesAsync(back);
        for (int z = 0; z < 20; z++)
            for (int y = 0; y < 30; y++)
                for (int x = 0; x < 40; x++)
                {
                    int i = ((z * 30 + y) * 40 + x) * 2;
                    int expected = z >= 16 && y >= 16 && x >= 32 ? 5 : BitConverter.ToUInt16(data, i);
                    Assert.True(expected == BitConverter.ToUInt16(got, i), $"voxel {x},{y},{z}");
                }

        await File.WriteAllTextAsync(Path.Combine(dir, "zarr.json"), """{"zarr_format":3,"node_type":"array","shape":[4,4,4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,4,4]}},"codecs":[{"name":"bytes"},{"name":"sharding_indexed"}]}""");
        var nested = await Diced("ingest", dir, "--dtype", "uint16", "--repo", "lab", "--array", "s", "--create", "--store", Store);
        Assert.Equal(1, nested.Code);
        Assert.Contains("sharding_indexed must be the array's only codec", nested.Err);
    }
}
