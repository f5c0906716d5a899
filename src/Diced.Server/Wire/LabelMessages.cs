using System.Buffers;
using System.Globalization;
using Diced.Datastore.Types.Labels;

namespace Diced.Server.Wire;

/// <summary>labelmap's protobuf messages (§10.7): LabelIndex, LabelIndices, MappingOps.</summary>
public static class LabelMessages
{
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffffK";

    private static void Varint(ArrayBufferWriter<byte> w, int field, ulong v)
    {
        if (v == 0) return; // proto3 default
        Protobuf.WriteTag(w, field, Protobuf.WireVarint);
        Protobuf.WriteVarint(w, v);
    }

    private static void String(ArrayBufferWriter<byte> w, int field, string s)
    {
        if (s.Length > 0) Protobuf.WriteBytes(w, field, System.Text.Encoding.UTF8.GetBytes(s));
    }

    public static byte[] EncodeIndex(LabelIndex idx)
    {
        var w = new ArrayBufferWriter<byte>();
        var entry = new ArrayBufferWriter<byte>();
        var counts = new ArrayBufferWriter<byte>();
        var pair = new ArrayBufferWriter<byte>();
        foreach (var (block, svCounts) in idx.Blocks)
        {
            counts.Clear();
            foreach (var (sv, n) in svCounts)
            {
                pair.Clear();
                Varint(pair, 1, sv);
                Varint(pair, 2, n);
                Protobuf.WriteBytes(counts, 1, pair.WrittenSpan);
            }
            entry.Clear();
            Varint(entry, 1, LabelIndex.PackBlock(block));
            Protobuf.WriteBytes(entry, 2, counts.WrittenSpan);
            Protobuf.WriteBytes(w, 1, entry.WrittenSpan);
        }
        Varint(w, 2, idx.Label);
        Varint(w, 3, idx.LastMutationId);
        String(w, 4, idx.LastModTime == default ? "" : idx.LastModTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
        String(w, 5, idx.LastModUser);
        String(w, 6, idx.LastModApp);
        return w.WrittenSpan.ToArray();
    }

    public static LabelIndex DecodeIndex(ReadOnlySpan<byte> data)
    {
        var idx = new LabelIndex(0);
        var r = new ProtoReader(data);
        while (!r.End)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1 when wire == Protobuf.WireLengthDelimited:
                {
                    var entry = new ProtoReader(r.ReadBytes());
                    ulong key = 0;
                    var counts = new List<(ulong, uint)>();
                    while (!entry.End)
                    {
                        var (f, w) = entry.ReadTag();
                        if (f == 1 && w == Protobuf.WireVarint) key = entry.ReadVarint();
                        else if (f == 2 && w == Protobuf.WireLengthDelimited)
                        {
                            var svc = new ProtoReader(entry.ReadBytes());
                            while (!svc.End)
                            {
                                var (sf, sw) = svc.ReadTag();
                                if (sf == 1 && sw == Protobuf.WireLengthDelimited)
                                {
                                    var p = new ProtoReader(svc.ReadBytes());
                                    ulong sv = 0, n = 0;
                                    while (!p.End)
                                    {
                                        var (pf, pw) = p.ReadTag();
                                        if (pf == 1 && pw == Protobuf.WireVarint) sv = p.ReadVarint();
                                        else if (pf == 2 && pw == Protobuf.WireVarint) n = p.ReadVarint();
                                        else p.Skip(pw);
                                    }
                                    if (n > uint.MaxValue) throw new InvalidDataException($"voxel count {n} does not fit 32 bits");
                                    counts.Add((sv, (uint)n));
                                }
                                else svc.Skip(sw);
                            }
                        }
                        else entry.Skip(w);
                    }
                    var block = LabelIndex.UnpackBlock(key);
                    foreach (var (sv, n) in counts)
                        if (n > 0 && sv != 0) idx.Add(block, sv, n);
                    break;
                }
                case 2 when wire == Protobuf.WireVarint: idx.Label = r.ReadVarint(); break;
                case 3 when wire == Protobuf.WireVarint: idx.LastMutationId = r.ReadVarint(); break;
                case 4 when wire == Protobuf.WireLengthDelimited:
                    var t = r.ReadString();
                    if (t.Length > 0 && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)) idx.LastModTime = time;
                    break;
                case 5 when wire == Protobuf.WireLengthDelimited: idx.LastModUser = r.ReadString(); break;
                case 6 when wire == Protobuf.WireLengthDelimited: idx.LastModApp = r.ReadString(); break;
                default: r.Skip(wire); break;
            }
        }
        return idx;
    }

    public static byte[] EncodeIndices(IEnumerable<LabelIndex> indices)
    {
        var w = new ArrayBufferWriter<byte>();
        foreach (var idx in indices) Protobuf.WriteBytes(w, 1, EncodeIndex(idx));
        return w.WrittenSpan.ToArray();
    }

    public static List<LabelIndex> DecodeIndices(ReadOnlySpan<byte> data)
    {
        var list = new List<LabelIndex>();
        var r = new ProtoReader(data);
        while (!r.End)
        {
            var (field, wire) = r.ReadTag();
            if (field == 1 && wire == Protobuf.WireLengthDelimited) list.Add(DecodeIndex(r.ReadBytes()));
            else r.Skip(wire);
        }
        return list;
    }

    /// <summary>MappingOps: (mapped body, original supervoxels) per op.</summary>
    public static List<(ulong Mapped, List<ulong> Original)> DecodeMappingOps(ReadOnlySpan<byte> data)
    {
        var ops = new List<(ulong, List<ulong>)>();
        var r = new ProtoReader(data);
        while (!r.End)
        {
            var (field, wire) = r.ReadTag();
            if (field != 1 || wire != Protobuf.WireLengthDelimited) { r.Skip(wire); continue; }
            var op = new ProtoReader(r.ReadBytes());
            ulong mapped = 0;
            var original = new List<ulong>();
            while (!op.End)
            {
                var (f, w) = op.ReadTag();
                if (f == 2 && w == Protobuf.WireVarint) mapped = op.ReadVarint();
                else if (f == 3 && w == Protobuf.WireVarint) original.Add(op.ReadVarint());
                else if (f == 3 && w == Protobuf.WireLengthDelimited)
                {
                    var packed = new ProtoReader(op.ReadBytes());
                    while (!packed.End) original.Add(packed.ReadVarint());
                }
                else op.Skip(w);
            }
            ops.Add((mapped, original));
        }
        return ops;
    }
}
