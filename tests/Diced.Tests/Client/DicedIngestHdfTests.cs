using Diced.Cli;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>Issue 18: <c>diced ingest file.h5:/dataset</c> reads HDF5 files as h5py writes them, every voxel checked.</summary>
public class DicedIngestHdfTests() : CliTest("diced-h5")
{
    /// <summary>Writes test.h5 with h5py (Debian's python3-h5py): a chunked, gzip+shuffle uint16 volume, a contiguous
    /// 2-D uint8 image, a float volume; and the same voxels as raw files.</summary>
    private string WriteInputs()
    {
        DebianPython.Require("h5py", "python3-h5py");
        DebianPython.Run("""
            import sys, h5py, numpy as np
            d = sys.argv[1]
            rng = np.random.default_rng(3)
            vol = rng.integers(0, 65535, size=(70, 90, 110), dtype=np.uint16)
            img = rng.integers(0, 255, size=(130, 150), dtype=np.uint8)
            with h5py.File(d + '/test.h5', 'w') as f:
                f.create_dataset('em/vol', data=vol, chunks=(32, 32, 32), compression='gzip', shuffle=True)
                f.create_dataset('img', data=img)
                f.create_dataset('probabilities', data=np.zeros((4, 4, 4), dtype=np.float32))
            vol.tofile(d + '/vol.raw')
            img.tofile(d + '/img.raw')
            """, Dir);
        return Path.Combine(Dir, "test.h5");
    }

    [Fact]
    public async Task Chunked_and_contiguous_datasets_arrive_voxel_for_voxel()
    {
        var h5 = WriteInputs();
        var vol = await Diced("ingest", $"{h5}:/em/vol", "--dtype", "uint16", "--offset", "5,6,7", "--repo", "lab", "--array", "em", "--create", "--store", Store);
        Assert.True(vol.Code == 0, vol.Err);
        Assert.Contains("110x90x70 Uint16", vol.Out);
        var back = Path.Combine(Dir, "back.raw");
        Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", "em", "--offset", "5,6,7", "--size", "110,90,70", "--out", back, "--store", Store)).Code);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Dir, "vol.raw")), await File.ReadAllBytesAsync(back));

        var img = await Diced("ingest", $"{h5}:img", "--repo", "lab", "--array", "img", "--create", "--store", Store);
        Assert.True(img.Code == 0, img.Err);
        Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", "img", "--size", "150,130,1", "--out", back, "--store", Store)).Code);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Dir, "img.raw")), await File.ReadAllBytesAsync(back));
    }

    [Fact]
    public async Task Bad_datasets_are_one_line_errors_and_store_nothing()
    {
        var h5 = WriteInputs();
        var truncated = Path.Combine(Dir, "truncated.h5");
        await File.WriteAllBytesAsync(truncated, (await File.ReadAllBytesAsync(h5))[..1000]);
        foreach (var (input, dtype, expected) in new[]
        {
            ($"{h5}:/nope", "uint8", "has no dataset /nope"),
            ($"{h5}:/em", "uint8", "is a group, not a dataset"),
            ($"{h5}:/em/vol", "uint8", "16-bit integers"),
            ($"{h5}:/probabilities", "uint32", "FloatingPoint"),
            ($"{truncated}:/em/vol", "uint16", "not a readable HDF5 file"),
            ($"{Path.Combine(Dir, "absent.h5")}:/em/vol", "uint16", "does not exist"),
        })
        {
            var r = await Diced("ingest", input, "--dtype", dtype, "--repo", "lab", "--array", "x", "--create", "--store", Store);
            Assert.Equal(1, r.Code);
            Assert.Contains(expected, r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
        var repos = await Diced("repos", "--store", Store);
        Assert.DoesNotContain("lab", repos.Out); // nothing was created
    }
}
