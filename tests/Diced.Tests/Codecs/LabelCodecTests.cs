using Diced.Codecs.Labels;
using Xunit;

namespace Diced.Tests.Codecs;

public class LabelBlockTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(string.Concat(s.Where(char.IsAsciiHexDigit)));

    [Fact]
    public void Solid_block_matches_appendix_A1()
    {
        var labels = Enumerable.Repeat(5UL, 64 * 64 * 64).ToArray();
        var encoded = LabelBlock.Encode(labels, (64, 64, 64));
        Assert.Equal(Hex("08000000 08000000 08000000 01000000 0500000000000000"), encoded);
        Assert.Equal(labels, LabelBlock.Decode(encoded).Labels);
    }

    [Fact]
    public void Two_label_block_matches_appendix_A2_both_ways()
    {
        var expected = Hex("01000000 01000000 01000000 02000000 0700000000000000 0900000000000000 0200 00000000 01000000"
            + string.Concat(Enumerable.Repeat("0F", 64)));
        Assert.Equal(106, expected.Length);
        var labels = new ulong[512];
        for (int i = 0; i < 512; i++) labels[i] = i % 8 < 4 ? 7UL : 9UL;
        Assert.Equal(labels, LabelBlock.Decode(expected).Labels);
        Assert.Equal(expected, LabelBlock.Encode(labels, (8, 8, 8)));
        // The same voxels with the table written the other way round decode identically.
        var swapped = (byte[])expected.Clone();
        Hex("0900000000000000 0700000000000000").CopyTo(swapped, 16);
        Hex("01000000 00000000").CopyTo(swapped, 34);
        Assert.Equal(labels, LabelBlock.Decode(swapped).Labels);
    }

    [Theory]
    [InlineData(1, 64, 64, 64)]
    [InlineData(2, 64, 64, 64)]
    [InlineData(3, 32, 16, 8)]
    [InlineData(5, 64, 64, 64)]
    [InlineData(17, 16, 16, 16)]
    [InlineData(300, 16, 8, 8)]
    [InlineData(512, 8, 8, 8)]
    public void Random_blocks_round_trip(int distinctPerSubBlock, int nx, int ny, int nz)
    {
        var rng = new Random(distinctPerSubBlock * 31 + nx);
        var labels = new ulong[nx * ny * nz];
        // Each voxel picks from a per-sub-block palette of the given size; palettes overlap across sub-blocks.
        for (int z = 0; z < nz; z++)
        for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++)
        {
            int sub = ((z / 8) * (ny / 8) + y / 8) * (nx / 8) + x / 8;
            int pick = distinctPerSubBlock == 512 ? (z % 8 * 64 + y % 8 * 8 + x % 8) : rng.Next(distinctPerSubBlock);
            labels[(z * ny + y) * nx + x] = (ulong)(sub * 7 + pick) * 0x9E3779B97F4A7C15UL >> (rng.Next(2) * 20);
        }
        var encoded = LabelBlock.Encode(labels, (nx, ny, nz));
        var (decoded, size) = LabelBlock.Decode(encoded);
        Assert.Equal((nx, ny, nz), size);
        Assert.Equal(labels, decoded);
    }

    [Fact]
    public void Realistic_segmentation_compresses_well_and_round_trips()
    {
        var labels = SyntheticSegmentation(64, seed: 2);
        var encoded = LabelBlock.Encode(labels, (64, 64, 64));
        Assert.Equal(labels, LabelBlock.Decode(encoded).Labels);
        Assert.True(encoded.Length < labels.Length * 8 / 20, $"{encoded.Length} bytes for a 64³ block of ~30 smooth segments");
    }

    /// <summary>Smooth segments: each voxel takes the label of the nearest of a few random seeds (a Voronoi tiling).</summary>
    public static ulong[] SyntheticSegmentation(int n, int seed, int segments = 30, ulong labelBase = 1_000_000)
    {
        var rng = new Random(seed);
        var seeds = Enumerable.Range(0, segments).Select(_ => (X: rng.Next(n), Y: rng.Next(n), Z: rng.Next(n), L: labelBase + (ulong)rng.Next(1 << 30))).ToArray();
        var labels = new ulong[n * n * n];
        for (int z = 0; z < n; z++)
        for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
        {
            int best = 0, bestD = int.MaxValue;
            for (int i = 0; i < seeds.Length; i++)
            {
                int dx = x - seeds[i].X, dy = y - seeds[i].Y, dz = z - seeds[i].Z, d = dx * dx + dy * dy + dz * dz;
                if (d < bestD) { bestD = d; best = i; }
            }
            labels[(z * n + y) * n + x] = seeds[best].L;
        }
        return labels;
    }

    [Fact]
    public void Corrupt_blocks_are_refused_with_a_reason()
    {
        var labels = new ulong[512];
        for (int i = 0; i < 512; i++) labels[i] = (ulong)(i % 3);
        var good = LabelBlock.Encode(labels, (8, 8, 8));
        Assert.Contains("shorter", Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(good.AsSpan(0, 10))).Message);
        Assert.Contains("disagrees", Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(good.AsSpan(0, good.Length - 1))).Message);
        Assert.Contains("disagrees", Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(good.Concat(new byte[] { 0 }).ToArray())).Message);
        var badIndex = (byte[])good.Clone();
        BitConverter.GetBytes(99u).CopyTo(badIndex, 16 + 8 * 3 + 2); // sub-block's first idx → label 99 of 3
        Assert.Contains("refers to label 99", Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(badIndex)).Message);
        var huge = (byte[])good.Clone();
        BitConverter.GetBytes(100000u).CopyTo(huge, 0);
        Assert.Contains("sub-blocks", Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(huge)).Message);
        var manyLabels = (byte[])good.Clone();
        BitConverter.GetBytes(uint.MaxValue).CopyTo(manyLabels, 12);
        Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(manyLabels));
        // Three labels take 2 bits: the value 3 is an index beyond the sub-block's labels.
        var badValue = (byte[])good.Clone();
        badValue[^1] = 0xFF;
        Assert.Contains("beyond its 3 labels", Assert.Throws<InvalidDataException>(() => LabelBlock.Decode(badValue)).Message);
    }
}

public class CompressedSegmentationTests
{
    [Fact]
    public void Solid_volume_matches_appendix_A7()
    {
        var encoded = CompressedSegmentation.Encode(Enumerable.Repeat(5UL, 512).ToArray(), (8, 8, 8));
        Assert.Equal(Convert.FromHexString("01000000" + "02000000" + "02000000" + "0500000000000000"), encoded);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(9)]
    [InlineData(200)]
    [InlineData(512)]
    public void Random_volumes_round_trip(int distinct)
    {
        var rng = new Random(distinct);
        var palette = Enumerable.Range(0, distinct).Select(_ => (ulong)rng.NextInt64()).ToArray();
        var labels = new ulong[16 * 24 * 8];
        for (int i = 0; i < labels.Length; i++) labels[i] = distinct == 512 ? (ulong)i : palette[rng.Next(distinct)];
        var encoded = CompressedSegmentation.Encode(labels, (16, 24, 8));
        Assert.Equal(labels, CompressedSegmentation.Decode(encoded, (16, 24, 8)));
    }

    [Fact]
    public void Sizes_that_are_not_multiples_of_8_are_refused()
        => Assert.Throws<ArgumentException>(() => CompressedSegmentation.Encode(new ulong[9 * 8 * 8], (9, 8, 8)));
}

/// <summary>Decoding label blocks straight to bodies (issue 17): mapping the block's table equals mapping every voxel.</summary>
public class MappedLabelDecodeTests
{
    [Theory]
    [InlineData(1, 3)]
    [InlineData(40, 7)]
    [InlineData(600, 11)]
    public void Mapping_the_table_equals_mapping_every_voxel(int labels, int seed)
    {
        var rng = new Random(seed);
        var block = new ulong[64 * 64 * 64];
        var ids = Enumerable.Range(0, labels).Select(_ => (ulong)rng.NextInt64(1, 1L << 40)).ToArray();
        for (int i = 0; i < block.Length; i++) block[i] = rng.Next(10) == 0 ? 0 : ids[(i / 64 + rng.Next(3)) % labels];
        var mapping = ids.Where((_, i) => i % 2 == 0).ToDictionary(id => id, id => id % 5 + 1_000_000);
        var encoded = Diced.Codecs.Labels.LabelBlock.Encode(block, (64, 64, 64));
        var direct = new ulong[block.Length];
        var remapped = (byte[])encoded.Clone();
        Diced.Codecs.Labels.LabelBlock.RemapTable(remapped, mapping);
        Diced.Codecs.Labels.LabelBlock.Decode(remapped, direct);
        var expected = block.Select(v => mapping.TryGetValue(v, out var b) ? b : v).ToArray();
        Assert.Equal(expected, direct);
        Diced.Codecs.Labels.LabelBlock.Decode(encoded, direct);
        Assert.Equal(block, direct);
    }
}
