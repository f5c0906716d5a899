using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Roi;

/// <summary>
/// An ROI applied to voxels (<c>roi=</c> on image requests): on reads, voxels outside it are zeroed or attenuated
/// (shifted right by <see cref="Attenuation"/> bits, uint8 only); on writes, only voxels inside it are written.
/// </summary>
public sealed class RoiMask(RoiIndex index, int attenuation)
{
    public RoiIndex Index => index;

    /// <summary>Bits voxels outside the ROI are shifted right by on reads (0: zeroed).</summary>
    public int Attenuation => attenuation;

    /// <summary>The ROI named <paramref name="roiName"/> as it is at <paramref name="version"/>.</summary>
    public static async Task<RoiMask> LoadAsync(Datastore ds, VersionRef version, string roiName, int attenuation, CancellationToken ct = default)
    {
        var inst = ds.GetInstance(version, roiName);
        if (inst.TypeName != "roi") throw DatastoreException.BadRequest($"roi \"{roiName}\" is a {inst.TypeName} instance, not an roi");
        if (attenuation is < 0 or > 7) throw DatastoreException.BadRequest("attenuation must be an integer from 1 to 7");
        return new RoiMask(await new RoiData(ds.DataAt(version, inst)).IndexAsync(ct), attenuation);
    }

    /// <summary>Masks packed voxels of <paramref name="box"/> in place (a read).</summary>
    public void Apply(Span<byte> voxels, Box box, int bytesPerVoxel)
    {
        var bs = index.BlockSize;
        int rowBytes = box.Size.X * bytesPerVoxel;
        for (int z = 0; z < box.Size.Z; z++)
        {
            int bz = Point3.FloorDiv(box.Offset.Z + z, bs.Z);
            for (int y = 0; y < box.Size.Y; y++)
            {
                int by = Point3.FloorDiv(box.Offset.Y + y, bs.Y);
                var row = voxels.Slice(((z * box.Size.Y) + y) * rowBytes, rowBytes);
                long cursor = box.Offset.X; // first voxel not yet known to be inside
                foreach (var (x0, x1) in index.Row(by, bz))
                {
                    long lo = Math.Max((long)x0 * bs.X, box.Offset.X), hi = Math.Min(((long)x1 + 1) * bs.X, box.End.X);
                    if (hi <= lo) continue;
                    Outside(row, cursor, lo, box.Offset.X, bytesPerVoxel);
                    cursor = Math.Max(cursor, hi);
                }
                Outside(row, cursor, box.End.X, box.Offset.X, bytesPerVoxel);
            }
        }
    }

    private void Outside(Span<byte> row, long from, long to, int originX, int bpv)
    {
        if (to <= from) return;
        var part = row.Slice((int)(from - originX) * bpv, (int)(to - from) * bpv);
        if (attenuation == 0) part.Clear();
        else
            for (int i = 0; i < part.Length; i++) part[i] = (byte)(part[i] >> attenuation);
    }

    /// <summary>
    /// Copies the voxels of <paramref name="part"/> that lie inside the ROI from a packed <paramref name="srcBox"/> to a
    /// packed <paramref name="dstBox"/> (a masked write into a block); voxels outside keep what <paramref name="dst"/> held.
    /// </summary>
    public void CopyInside(ReadOnlySpan<byte> src, Box srcBox, Span<byte> dst, Box dstBox, Box part, int bpv)
    {
        var bs = index.BlockSize;
        for (int z = part.Offset.Z; z < part.End.Z; z++)
        {
            int bz = Point3.FloorDiv(z, bs.Z);
            for (int y = part.Offset.Y; y < part.End.Y; y++)
            {
                int by = Point3.FloorDiv(y, bs.Y);
                foreach (var (x0, x1) in index.Row(by, bz))
                {
                    long lo = Math.Max((long)x0 * bs.X, part.Offset.X), hi = Math.Min(((long)x1 + 1) * bs.X, part.End.X);
                    if (hi <= lo) continue;
                    long s = (((long)(z - srcBox.Offset.Z) * srcBox.Size.Y + (y - srcBox.Offset.Y)) * srcBox.Size.X + (lo - srcBox.Offset.X)) * bpv;
                    long d = (((long)(z - dstBox.Offset.Z) * dstBox.Size.Y + (y - dstBox.Offset.Y)) * dstBox.Size.X + (lo - dstBox.Offset.X)) * bpv;
                    src.Slice((int)s, (int)(hi - lo) * bpv).CopyTo(dst.Slice((int)d, (int)(hi - lo) * bpv));
                }
            }
        }
    }
}
