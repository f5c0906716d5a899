using System.Buffers.Binary;
using System.Text;

namespace Diced.Codecs.Annotations;

/// <summary>One element of a block record and the supervoxel (or label) under it when it was last indexed (0: none).</summary>
public sealed record StoredElement(Element Element, ulong Supervoxel);

/// <summary>An entry of a label or tag index: where an element is, its kind, and the supervoxel under it.</summary>
public readonly record struct IndexEntry(ElementPos Pos, ElementKind Kind, ulong Supervoxel);

/// <summary>
/// Diced's stored forms of annotations (little-endian, lengths as 7-bit varints): a block record lists the elements of
/// one block in full; a label or tag record lists where that label's or tag's elements are (position, kind,
/// supervoxel), so that the details live in one place. Corrupt records throw <see cref="InvalidDataException"/>.
/// </summary>
public static class ElementRecords
{
    private const byte Version = 1;

    public static byte[] EncodeBlock(IReadOnlyCollection<StoredElement> elements)
    {
        using var ms = new MemoryStream(16 + elements.Count * 64);
        using var w = new BinaryWriter(ms, Encoding.UTF8);
        w.Write(Version);
        w.Write7BitEncodedInt(elements.Count);
        foreach (var (e, sv) in elements)
        {
            WritePos(w, e.Pos);
            w.Write((byte)e.Kind);
            w.Write(sv);
            w.Write7BitEncodedInt(e.Tags.Count);
            foreach (var t in e.Tags) w.Write(t);
            w.Write7BitEncodedInt(e.Prop.Count);
            foreach (var (k, v) in e.Prop) { w.Write(k); w.Write(v); }
            w.Write7BitEncodedInt(e.Rels.Count);
            foreach (var r in e.Rels) { w.Write((byte)r.Rel); WritePos(w, r.To); }
        }
        w.Flush();
        return ms.ToArray();
    }

    public static List<StoredElement> DecodeBlock(byte[] record)
    {
        var r = new SpanReader(record);
        CheckVersion(r.Byte());
        int n = r.Count(21);
        var list = new List<StoredElement>(n);
        for (int i = 0; i < n; i++)
        {
            var e = new Element { Pos = r.Pos(), Kind = Kind(r.Byte()) };
            ulong sv = r.UInt64();
            int tags = r.Count(1);
            for (int j = 0; j < tags; j++) e.Tags.Add(r.String());
            int props = r.Count(2);
            for (int j = 0; j < props; j++) e.Prop[r.String()] = r.String();
            int rels = r.Count(13);
            for (int j = 0; j < rels; j++) e.Rels.Add(new Relationship(Rel(r.Byte()), r.Pos()));
            list.Add(new StoredElement(e, sv));
        }
        return list;
    }

    /// <summary>Reads what <see cref="BinaryWriter"/> wrote (little-endian, 7-bit lengths, UTF-8 strings) from a record.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _b = bytes;
        private int _o;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > _b.Length - _o) throw new InvalidDataException("annotation block record is truncated");
            var s = _b.Slice(_o, n);
            _o += n;
            return s;
        }

        public byte Byte() => Take(1)[0];
        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public ElementPos Pos()
        {
            var p = Take(12);
            return new(BinaryPrimitives.ReadInt32LittleEndian(p), BinaryPrimitives.ReadInt32LittleEndian(p[4..]), BinaryPrimitives.ReadInt32LittleEndian(p[8..]));
        }

        public int Count(int minBytesEach)
        {
            int n = Read7Bit(_b[_o..], out int used);
            _o += used;
            if (n < 0 || (long)n * minBytesEach > _b.Length - _o) throw new InvalidDataException("annotation block record is corrupt");
            return n;
        }

        public string String() => Encoding.UTF8.GetString(Take(Count(1)));
    }

    public static byte[] EncodeIndex(IReadOnlyCollection<IndexEntry> entries)
    {
        var bytes = new byte[1 + 5 + entries.Count * 21];
        bytes[0] = Version;
        int o = 1 + Write7Bit(bytes.AsSpan(1), entries.Count);
        foreach (var e in entries)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(o), e.Pos.X);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(o + 4), e.Pos.Y);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(o + 8), e.Pos.Z);
            bytes[o + 12] = (byte)e.Kind;
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(o + 13), e.Supervoxel);
            o += 21;
        }
        return bytes[..o];
    }

    public static List<IndexEntry> DecodeIndex(byte[] record)
    {
        if (record.Length < 2) throw new InvalidDataException("annotation index record is truncated");
        CheckVersion(record[0]);
        int count = Read7Bit(record.AsSpan(1), out int used);
        int o = 1 + used;
        if (count < 0 || (long)count * 21 != record.Length - o) throw new InvalidDataException("annotation index record has the wrong length");
        var list = new List<IndexEntry>(count);
        for (int i = 0; i < count; i++, o += 21)
            list.Add(new IndexEntry(new ElementPos(BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(o)), BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(o + 4)),
                BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(o + 8))), Kind(record[o + 12]), BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(o + 13))));
        return list;
    }

    private static void CheckVersion(byte v)
    {
        if (v != Version) throw new InvalidDataException($"annotation record version {v} is not known to this server");
    }

    private static ElementKind Kind(byte b) => b <= (byte)ElementKind.Note ? (ElementKind)b : throw new InvalidDataException($"unknown element kind {b} in a stored record");

    private static RelationKind Rel(byte b) => b <= (byte)RelationKind.GroupedWith ? (RelationKind)b : throw new InvalidDataException($"unknown relationship {b} in a stored record");

    private static void WritePos(BinaryWriter w, ElementPos p)
    {
        w.Write(p.X);
        w.Write(p.Y);
        w.Write(p.Z);
    }

    private static int Write7Bit(Span<byte> dest, int value)
    {
        uint v = (uint)value;
        int i = 0;
        while (v >= 0x80) { dest[i++] = (byte)(v | 0x80); v >>= 7; }
        dest[i++] = (byte)v;
        return i;
    }

    private static int Read7Bit(ReadOnlySpan<byte> src, out int used)
    {
        uint v = 0;
        for (int i = 0, shift = 0; i < 5 && i < src.Length; i++, shift += 7)
        {
            v |= (uint)(src[i] & 0x7F) << shift;
            if ((src[i] & 0x80) == 0) { used = i + 1; return (int)v; }
        }
        throw new InvalidDataException("annotation record is corrupt");
    }
}
