using System.Buffers.Binary;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Labels;

/// <summary>
/// Where one body (or, in labelarray, one label) lives: for each block it touches, the voxel count of each of its
/// supervoxels there. The index is what lets sparsevol, size and merges read only the blocks a body touches.
/// </summary>
public sealed class LabelIndex(ulong label)
{
    public ulong Label { get; set; } = label;
    public Dictionary<Point3, Dictionary<ulong, uint>> Blocks { get; } = new();
    public ulong LastMutationId { get; set; }
    public DateTimeOffset LastModTime { get; set; }
    public string LastModUser { get; set; } = "";
    public string LastModApp { get; set; } = "";

    public bool IsEmpty => Blocks.Count == 0;

    public ulong VoxelCount => (ulong)Blocks.Values.Sum(b => b.Values.Sum(c => (long)c));

    /// <summary>Supervoxels of the body (any block).</summary>
    public HashSet<ulong> Supervoxels() => Blocks.Values.SelectMany(b => b.Keys).ToHashSet();

    /// <summary>Adds <paramref name="delta"/> voxels of <paramref name="sv"/> in <paramref name="block"/>; drops zero counts.
    /// A count never goes below zero: voxels stored with <c>noindexing</c> were never counted, so removing them clamps.</summary>
    public void Add(Point3 block, ulong sv, long delta)
    {
        if (!Blocks.TryGetValue(block, out var counts)) Blocks[block] = counts = new Dictionary<ulong, uint>();
        long n = (counts.TryGetValue(sv, out var c) ? c : 0) + delta;
        if (n < 0) n = 0;
        if (n > uint.MaxValue) n = uint.MaxValue;
        if (n == 0) counts.Remove(sv);
        else counts[sv] = (uint)n;
        if (counts.Count == 0) Blocks.Remove(block);
    }

    /// <summary>Moves every count of <paramref name="other"/> into this index.</summary>
    public void Absorb(LabelIndex other)
    {
        foreach (var (block, counts) in other.Blocks)
            foreach (var (sv, n) in counts) Add(block, sv, n);
    }

    /// <summary>Removes the counts of <paramref name="supervoxels"/> into a new index for <paramref name="newLabel"/>.</summary>
    public LabelIndex Extract(IReadOnlySet<ulong> supervoxels, ulong newLabel)
    {
        var moved = new LabelIndex(newLabel);
        foreach (var (block, counts) in Blocks.ToList())
            foreach (var (sv, n) in counts.ToList())
                if (supervoxels.Contains(sv))
                {
                    moved.Add(block, sv, n);
                    Add(block, sv, -n);
                }
        return moved;
    }

    public byte[] Serialize()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write((byte)1); // format version
        w.Write(Label);
        w.Write(LastMutationId);
        w.Write(LastModTime.UtcTicks);
        w.Write(LastModUser);
        w.Write(LastModApp);
        w.Write(Blocks.Count);
        foreach (var (block, counts) in Blocks)
        {
            w.Write(block.X);
            w.Write(block.Y);
            w.Write(block.Z);
            w.Write(counts.Count);
            foreach (var (sv, n) in counts)
            {
                w.Write(sv);
                w.Write(n);
            }
        }
        w.Flush();
        return ms.ToArray();
    }

    public static LabelIndex Deserialize(byte[] data)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(data));
            if (r.ReadByte() != 1) throw new InvalidDataException("unknown label index format");
            var index = new LabelIndex(r.ReadUInt64())
            {
                LastMutationId = r.ReadUInt64(),
                LastModTime = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero),
                LastModUser = r.ReadString(),
                LastModApp = r.ReadString(),
            };
            int blocks = r.ReadInt32();
            for (int i = 0; i < blocks; i++)
            {
                var block = new Point3(r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
                int n = r.ReadInt32();
                var counts = new Dictionary<ulong, uint>(n);
                for (int j = 0; j < n; j++) counts[r.ReadUInt64()] = r.ReadUInt32();
                index.Blocks[block] = counts;
            }
            return index;
        }
        catch (EndOfStreamException e)
        {
            throw new DatastoreException("stored label index is truncated", ErrorKind.BadRequest, e);
        }
    }

    /// <summary>DVID's packed block coordinate of a LabelIndex (Appendix A.6): 21-bit sign-magnitude fields x, y, z.</summary>
    public static ulong PackBlock(Point3 b)
    {
        static ulong Field(int v) => v < 0 ? (1UL << 20) | (ulong)(-(long)v & 0xFFFFF) : (ulong)v & 0xFFFFF;
        return Field(b.X) | Field(b.Y) << 21 | Field(b.Z) << 42;
    }

    public static Point3 UnpackBlock(ulong packed)
    {
        static int Field(ulong f) => (f & (1UL << 20)) != 0 ? -(int)(f & 0xFFFFF) : (int)(f & 0xFFFFF);
        return new Point3(Field(packed & 0x1FFFFF), Field(packed >> 21 & 0x1FFFFF), Field(packed >> 42 & 0x1FFFFF));
    }
}
