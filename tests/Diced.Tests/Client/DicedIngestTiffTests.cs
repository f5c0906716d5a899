using BitMiracle.LibTiff.Classic;
using Tiff = Diced.Cli.Tiff;
using Diced.Cli;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>Issue 18: multi-page and tiled, compressed TIFF stacks through LibTiff.NET, every voxel checked.</summary>
public class DicedIngestTiffTests() : CliTest("diced-tiff")
{
    [Fact]
    public async Task Tiled_lzw_stacks_arrive_voxel_for_voxel()
    {
        const int w = 100, h = 70, depth = 9; // not multiples of the 32-pixel tiles
        var rng = new Random(4);
        var pages = Enumerable.Range(0, depth).Select(_ =>
        {
            var px = new byte[w * h * 2];
            rng.NextBytes(px);
            return (w, h, px);
        }).ToList();
        var tif = Path.Combine(Dir, "tiled.tif");
        Tiff.Write(tif, pages, 2, tile: 32);
        var r = await Diced("ingest", tif, "--dtype", "uint16", "--offset", "3,4,5", "--repo", "lab", "--array", "t", "--create", "--store", Store);
        Assert.True(r.Code == 0, r.Err);
        var back = Path.Combine(Dir, "back.raw");
        Assert.Equal(0, (await Diced("export", "--repo", "lab", "--array", "t", "--offset", "3,4,5", "--size", $"{w},{h},{depth}", "--out", back, "--store", Store)).Code);
        var expected = pages.SelectMany(p => p.px).ToArray();
        var got = await File.ReadAllBytesAsync(back);
        Assert.True(expected.AsSpan().SequenceEqual(got));
    }

    [Fact]
    public async Task Colour_wrong_depth_and_corrupt_tiffs_are_one_line_errors()
    {
        var rgb = Path.Combine(Dir, "rgb.tif");
        using (var t = BitMiracle.LibTiff.Classic.Tiff.Open(rgb, "w"))
        {
            t.SetField(TiffTag.IMAGEWIDTH, 4);
            t.SetField(TiffTag.IMAGELENGTH, 4);
            t.SetField(TiffTag.BITSPERSAMPLE, 8);
            t.SetField(TiffTag.SAMPLESPERPIXEL, 3);
            t.SetField(TiffTag.PHOTOMETRIC, Photometric.RGB);
            t.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            t.SetField(TiffTag.COMPRESSION, Compression.NONE);
            t.SetField(TiffTag.ROWSPERSTRIP, 4);
            t.WriteEncodedStrip(0, new byte[48], 48);
        }
        var gray = Path.Combine(Dir, "gray8.tif");
        Tiff.Write(gray, [(8, 8, new byte[64])], 1);
        var corrupt = Path.Combine(Dir, "corrupt.tif");
        await File.WriteAllBytesAsync(corrupt, (await File.ReadAllBytesAsync(gray))[..20]);
        foreach (var (file, dtype, expected) in new[]
        {
            (rgb, "uint8", "3 samples per pixel"),
            (gray, "uint16", "8-bit pixels"),
            (corrupt, "uint8", "corrupt.tif"),
        })
        {
            var r = await Diced("ingest", file, "--dtype", dtype, "--repo", "lab", "--array", "x", "--create", "--store", Store);
            Assert.Equal(1, r.Code);
            Assert.True(r.Err.Contains(expected), r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
        Assert.DoesNotContain("lab", (await Diced("repos", "--store", Store)).Out);
    }
}
