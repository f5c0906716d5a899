using System.Runtime.InteropServices;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Roi;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary><c>roi=&lt;name&gt;</c> on voxel requests: voxels outside the ROI (at the same version) are zeroed, or attenuated.</summary>
public sealed class RoiMasking(RoiIndex index, int attenuation)
{
    /// <summary>The mask a request asks for, or null when it names no ROI.</summary>
    public static async Task<RoiMasking?> FromRequestAsync(HttpContext http, InstanceContext ctx, bool uint8)
    {
        var name = http.Request.Query["roi"].ToString();
        if (name.Length == 0) return null;
        var inst = ctx.Store.GetInstance(ctx.Version, name);
        if (inst.TypeName != "roi") throw Reject.BadRequest($"roi \"{name}\" is a {inst.TypeName} instance, not an roi");
        int attenuation = 0;
        var a = http.Request.Query["attenuation"].ToString();
        if (a.Length > 0)
        {
            if (!uint8) throw Reject.BadRequest("attenuation applies only to uint8 volumes");
            if (!int.TryParse(a, out attenuation) || attenuation is < 1 or > 7) throw Reject.BadRequest("attenuation must be an integer from 1 to 7");
        }
        var index = await new RoiData(ctx.Store.DataAt(ctx.Version, inst)).IndexAsync(http.RequestAborted);
        return new RoiMasking(index, attenuation);
    }

    /// <summary>Applies the mask in place to packed voxels of <paramref name="box"/>.</summary>
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

    /// <summary>Where the mask is 0, replaces <paramref name="incoming"/> voxels with <paramref name="existing"/> ones.</summary>
    public void KeepOutside(Span<byte> incoming, ReadOnlySpan<byte> existing, Box box, int bytesPerVoxel)
    {
        var mask = new byte[box.VoxelCount];
        index.FillMask(box, mask);
        for (long v = 0; v < mask.Length; v++)
            if (mask[v] == 0) existing.Slice((int)(v * bytesPerVoxel), bytesPerVoxel).CopyTo(incoming.Slice((int)(v * bytesPerVoxel), bytesPerVoxel));
    }

    public static Span<byte> Writable(ReadOnlyMemory<byte> m) => MemoryMarshal.AsMemory(m).Span;
}
