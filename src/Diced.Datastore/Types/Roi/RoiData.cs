using System.Buffers.Binary;
using Diced.Codecs;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Roi;

/// <summary>A run of ROI blocks along x: blocks (X0..X1, Y, Z).</summary>
public readonly record struct RoiSpan(int Z, int Y, int X0, int X1);

/// <summary>An ROI at one version: its spans (one versioned value) and fast membership queries.</summary>
public sealed class RoiData(VersionedData data)
{
    private static readonly byte[] SpansKey = [90];

    public Point3 BlockSize { get; } = ImageSettings.ParseBlockSize(data.Instance.Settings[ImageSettings.BlockSizeKey]);

    /// <summary>The spans visible at this version, sorted by z, y, x0 (empty when no ROI is stored).</summary>
    public async ValueTask<RoiSpan[]> GetSpansAsync(CancellationToken ct = default)
    {
        var stored = await data.GetAsync(SpansKey, ct);
        if (stored is null) return [];
        var raw = ValueEnvelope.Decode(stored);
        var spans = new RoiSpan[raw.Length / 16];
        for (int i = 0; i < spans.Length; i++)
        {
            var s = raw.AsSpan(16 * i);
            spans[i] = new RoiSpan(BinaryPrimitives.ReadInt32LittleEndian(s), BinaryPrimitives.ReadInt32LittleEndian(s[4..]),
                BinaryPrimitives.ReadInt32LittleEndian(s[8..]), BinaryPrimitives.ReadInt32LittleEndian(s[12..]));
        }
        return spans;
    }

    /// <summary>Replaces the ROI at this version (spans are sorted, not merged).</summary>
    public async ValueTask SetSpansAsync(IEnumerable<RoiSpan> spans, CancellationToken ct = default)
    {
        var sorted = spans.OrderBy(s => s.Z).ThenBy(s => s.Y).ThenBy(s => s.X0).ThenBy(s => s.X1).ToArray();
        var raw = new byte[sorted.Length * 16];
        for (int i = 0; i < sorted.Length; i++)
        {
            var s = raw.AsSpan(16 * i);
            BinaryPrimitives.WriteInt32LittleEndian(s, sorted[i].Z);
            BinaryPrimitives.WriteInt32LittleEndian(s[4..], sorted[i].Y);
            BinaryPrimitives.WriteInt32LittleEndian(s[8..], sorted[i].X0);
            BinaryPrimitives.WriteInt32LittleEndian(s[12..], sorted[i].X1);
        }
        // An empty ROI is stored as an empty list so that it hides an ancestor's ROI.
        var value = raw.Length == 0 ? [0] : ValueEnvelope.Encode(raw, CompressionSpec.Parse(data.Instance.Compression), data.Instance.Checksum);
        await data.PutAsync(SpansKey, value, ct);
    }

    public async ValueTask DeleteAsync(CancellationToken ct = default) => await data.DeleteAsync(SpansKey, ct);

    /// <summary>A membership index over the spans visible here.</summary>
    public async ValueTask<RoiIndex> IndexAsync(CancellationToken ct = default) => new(await GetSpansAsync(ct), BlockSize);
}

/// <summary>Answers "is this voxel / block in the ROI" with a dictionary of x-runs per block row.</summary>
public sealed class RoiIndex
{
    private readonly Dictionary<(int Z, int Y), (int X0, int X1)[]> _rows;

    public RoiIndex(IReadOnlyList<RoiSpan> spans, Point3 blockSize)
    {
        BlockSize = blockSize;
        Spans = spans;
        _rows = spans.GroupBy(s => (s.Z, s.Y)).ToDictionary(g => g.Key, g => g.Select(s => (s.X0, s.X1)).OrderBy(r => r.X0).ToArray());
    }

    public Point3 BlockSize { get; }
    public IReadOnlyList<RoiSpan> Spans { get; }

    public bool ContainsBlock(Point3 block)
    {
        if (!_rows.TryGetValue((block.Z, block.Y), out var runs)) return false;
        foreach (var (x0, x1) in runs)
        {
            if (block.X < x0) return false;
            if (block.X <= x1) return true;
        }
        return false;
    }

    public bool ContainsVoxel(Point3 voxel) => ContainsBlock(voxel.BlockOf(BlockSize));

    /// <summary>The x-runs (block coordinates, inclusive) of block row (y, z), sorted by x0.</summary>
    public ReadOnlySpan<(int X0, int X1)> Row(int blockY, int blockZ) => _rows.TryGetValue((blockZ, blockY), out var r) ? r : default;

    /// <summary>Writes a uint8 mask of <paramref name="box"/>: 1 for voxels inside the ROI, 0 outside.</summary>
    public void FillMask(Box box, Span<byte> dest)
    {
        dest.Clear();
        var bs = BlockSize;
        for (int z = 0; z < box.Size.Z; z++)
        {
            int bz = Point3.FloorDiv(box.Offset.Z + z, bs.Z);
            for (int y = 0; y < box.Size.Y; y++)
            {
                int by = Point3.FloorDiv(box.Offset.Y + y, bs.Y);
                var row = dest.Slice((z * box.Size.Y + y) * box.Size.X, box.Size.X);
                foreach (var (x0, x1) in Row(by, bz))
                {
                    long lo = Math.Max((long)x0 * bs.X, box.Offset.X), hi = Math.Min(((long)x1 + 1) * bs.X, box.End.X);
                    if (hi > lo) row.Slice((int)(lo - box.Offset.X), (int)(hi - lo)).Fill(1);
                }
            }
        }
    }
}
