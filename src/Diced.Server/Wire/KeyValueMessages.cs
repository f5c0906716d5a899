using System.Buffers;
using System.Text;

namespace Diced.Server.Wire;

/// <summary>DVID's keyvalue protobuf messages (package <c>proto</c>): Keys, KeyRange, KeyValue, KeyValues.</summary>
public static class KeyValueMessages
{
    /// <summary>One requested key, optionally a byte range of its value (inclusive).</summary>
    public sealed record KeyRequest(string Key, long? ByteStart, long? ByteEnd);

    /// <summary>Decodes <c>Keys { repeated string keys = 1; repeated KeyRange key_ranges = 2; }</c> in request order (keys first).</summary>
    public static List<KeyRequest> ReadKeys(ReadOnlySpan<byte> data)
    {
        var keys = new List<KeyRequest>();
        var ranges = new List<KeyRequest>();
        var r = new ProtoReader(data);
        while (!r.End)
        {
            var (field, wire) = r.ReadTag();
            if (field == 1 && wire == Protobuf.WireLengthDelimited) keys.Add(new KeyRequest(r.ReadString(), null, null));
            else if (field == 2 && wire == Protobuf.WireLengthDelimited) ranges.Add(ReadKeyRange(r.ReadBytes()));
            else r.Skip(wire);
        }
        keys.AddRange(ranges);
        return keys;
    }

    private static KeyRequest ReadKeyRange(ReadOnlySpan<byte> data)
    {
        string key = "";
        ulong start = 0, end = 0;
        var r = new ProtoReader(data);
        while (!r.End)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (1, Protobuf.WireLengthDelimited): key = r.ReadString(); break;
                case (2, Protobuf.WireVarint): start = r.ReadVarint(); break;
                case (3, Protobuf.WireVarint): end = r.ReadVarint(); break;
                default: r.Skip(wire); break;
            }
        }
        if (start > long.MaxValue || end > long.MaxValue) throw new InvalidDataException("protobuf: byte range out of bounds");
        return new KeyRequest(key, (long)start, (long)end);
    }

    /// <summary>Decodes <c>KeyValues { repeated KeyValue kvs = 1; }</c>.</summary>
    public static List<(string Key, byte[] Value)> ReadKeyValues(ReadOnlySpan<byte> data)
    {
        var result = new List<(string, byte[])>();
        var r = new ProtoReader(data);
        while (!r.End)
        {
            var (field, wire) = r.ReadTag();
            if (field != 1 || wire != Protobuf.WireLengthDelimited)
            {
                r.Skip(wire);
                continue;
            }
            var kr = new ProtoReader(r.ReadBytes());
            string key = "";
            byte[] value = [];
            while (!kr.End)
            {
                var (f, w) = kr.ReadTag();
                if (f == 1 && w == Protobuf.WireLengthDelimited) key = kr.ReadString();
                else if (f == 2 && w == Protobuf.WireLengthDelimited) value = kr.ReadBytes().ToArray();
                else kr.Skip(w);
            }
            result.Add((key, value));
        }
        return result;
    }

    /// <summary>Writes one <c>kvs</c> entry of a KeyValues message; a stream of these is a whole KeyValues message.</summary>
    public static void WriteKeyValue(IBufferWriter<byte> w, string key, ReadOnlySpan<byte> value)
    {
        int keyLen = Encoding.UTF8.GetByteCount(key);
        int inner = (keyLen > 0 ? Protobuf.FieldSize(1, keyLen) : 0) + (value.Length > 0 ? Protobuf.FieldSize(2, value.Length) : 0);
        Protobuf.WriteTag(w, 1, Protobuf.WireLengthDelimited);
        Protobuf.WriteVarint(w, (ulong)inner);
        if (keyLen > 0)
        {
            Protobuf.WriteTag(w, 1, Protobuf.WireLengthDelimited);
            Protobuf.WriteVarint(w, (ulong)keyLen);
            var span = w.GetSpan(keyLen);
            Encoding.UTF8.GetBytes(key, span);
            w.Advance(keyLen);
        }
        if (value.Length > 0) Protobuf.WriteBytes(w, 2, value);
    }

    /// <summary>Encodes a whole Keys message (for clients and tests).</summary>
    public static byte[] EncodeKeys(IEnumerable<string> keys, IEnumerable<(string Key, ulong Start, ulong End)>? ranges = null)
    {
        var w = new ArrayBufferWriter<byte>();
        foreach (var k in keys) Protobuf.WriteBytes(w, 1, Encoding.UTF8.GetBytes(k));
        foreach (var (k, s, e) in ranges ?? [])
        {
            var inner = new ArrayBufferWriter<byte>();
            Protobuf.WriteBytes(inner, 1, Encoding.UTF8.GetBytes(k));
            Protobuf.WriteTag(inner, 2, Protobuf.WireVarint);
            Protobuf.WriteVarint(inner, s);
            Protobuf.WriteTag(inner, 3, Protobuf.WireVarint);
            Protobuf.WriteVarint(inner, e);
            Protobuf.WriteBytes(w, 2, inner.WrittenSpan);
        }
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a whole KeyValues message.</summary>
    public static byte[] EncodeKeyValues(IEnumerable<(string Key, byte[] Value)> pairs)
    {
        var w = new ArrayBufferWriter<byte>();
        foreach (var (k, v) in pairs) WriteKeyValue(w, k, v);
        return w.WrittenSpan.ToArray();
    }
}
