using Diced.Datastore.Geometry;

namespace Diced.Tests.Datastore;

public class NdBoxTests
{
    /// <summary>The slabs of a box, laid end to end, are its packed bytes in order: each is a contiguous run.</summary>
    private static void AssertSlabsTile(NdBox box, int[] chunk, int bpv, long max)
    {
        var slabs = box.Slabs(chunk, bpv, max).ToList();
        Assert.Equal(box.VoxelCount, slabs.Sum(s => s.VoxelCount));
        // Mark each slab's elements with its index and check the packed order never goes back.
        var owner = new int[box.VoxelCount];
        Array.Fill(owner, -1);
        for (int i = 0; i < slabs.Count; i++)
        {
            Assert.True(box.Contains(slabs[i]));
            var mark = Enumerable.Repeat((byte)1, (int)slabs[i].VoxelCount).ToArray();
            var into = new byte[box.VoxelCount];
            NdBox.Copy(mark, slabs[i], into, box, slabs[i], 1);
            var covered = Enumerable.Range(0, into.Length).Where(k => into[k] == 1).ToList();
            Assert.Equal(covered.Count, covered[^1] - covered[0] + 1); // contiguous
            foreach (var k in covered)
            {
                Assert.Equal(-1, owner[k]);
                owner[k] = i;
            }
            if (i > 0) Assert.True(covered[0] > Array.LastIndexOf(owner, i - 1));
            bool single = slabs[i].Size.ToArray().Count(n => n > 1) <= 1;
            Assert.True(slabs[i].VoxelCount * bpv <= max || single, $"slab {slabs[i]} is over {max} bytes");
        }
        Assert.DoesNotContain(-1, owner);
    }

    [Fact]
    public void Slabs_are_contiguous_ordered_and_bounded()
    {
        var box = new NdBox([3, -2, 5, 1], [13, 9, 7, 4]);
        AssertSlabsTile(box, [4, 4, 4, 1], 2, long.MaxValue);
        AssertSlabsTile(box, [4, 4, 4, 3], 2, 600); // chunk layers along t are cut into index groups
        AssertSlabsTile(box, [4, 4, 4, 3], 2, 100); // single time points are cut along z
        AssertSlabsTile(new NdBox([0, 0, 0, 7], [20, 20, 20, 1]), [8, 8, 8, 1], 1, 1000); // t fixed: slabs along z
        AssertSlabsTile(new NdBox([5], [1000]), [64], 8, 512);
    }

    [Fact]
    public void Slabs_cut_at_chunk_boundaries_when_a_layer_fits()
    {
        var slabs = new NdBox([0, 0, 0, 2], [64, 64, 130, 1]).Slabs([64, 64, 64, 1], 1, 64 * 64 * 64).ToList();
        Assert.Equal([0, 64, 128], slabs.Select(s => s.OffsetOf(2)));
        Assert.Equal([64, 64, 2], slabs.Select(s => s.SizeOf(2)));
    }

    [Fact]
    public void Copy_moves_a_region_between_differently_placed_boxes()
    {
        var src = new NdBox([0, 0, 0], [4, 3, 2]);
        var dst = new NdBox([1, 1, 1], [3, 2, 2]);
        var data = Enumerable.Range(0, 24).Select(i => (byte)i).ToArray();
        var into = new byte[12];
        var region = src.Intersect(dst)!;
        NdBox.Copy(data, src, into, dst, region, 1);
        // dst element (x,y,z) = src element (x+1, y+1, z+1) = (x+1) + 4(y+1) + 12(z+1), for z = 0 only (src has z 0..1).
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
                Assert.Equal(x + 1 + 4 * (y + 1) + 12, into[x + 3 * y]);
        Assert.All(into[6..], b => Assert.Equal(0, b)); // z = 2 lies outside the source
    }
}
