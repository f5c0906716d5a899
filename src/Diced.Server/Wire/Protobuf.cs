using System.Buffers;
using System.Text;

namespace Diced.Server.Wire;

/// <summary>Minimal protobuf (proto3) wire encoding: varints and length-delimited fields.</summary>
public static class Protobuf
{
    public const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireFixed32 = 5;

    public static int VarintSize(ulong v)
    {
        int n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }

    public static void WriteVarint(IBufferWriter<byte> w, ulong v)
    {
        var span = w.GetSpan(10);
        int i = 0;
        while (v >= 0x80) { span[i++] = (byte)(v | 0x80); v >>= 7; }
        span[i++] = (byte)v;
        w.Advance(i);
    }

    public static void WriteTag(IBufferWriter<byte> w, int field, int wireType) => WriteVarint(w, (ulong)((field << 3) | wireType));

    public static void WriteBytes(IBufferWriter<byte> w, int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(w, field, WireLengthDelimited);
        WriteVarint(w, (ulong)bytes.Length);
        w.Write(bytes);
    }

    /// <summary>Size of a length-delimited field with this payload length.</summary>
    public static int FieldSize(int field, int length) => VarintSize((ulong)(field << 3)) + VarintSize((ulong)length) + length;
}

/// <summary>Reads protobuf fields from a buffer; malformed input throws <see cref="InvalidDataException"/>.</summary>
public ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public bool End => _pos >= _data.Length;

    public (int Field, int WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        int field = (int)(tag >> 3);
        if (field <= 0) throw new InvalidDataException("protobuf: invalid field number");
        return (field, (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length) throw new InvalidDataException("protobuf: truncated varint");
            byte b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("protobuf: varint too long");
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos)) throw new InvalidDataException("protobuf: length-delimited field runs past the end of the message");
        var s = _data.Slice(_pos, (int)len);
        _pos += (int)len;
        return s;
    }

    public string ReadString()
    {
        try { return new UTF8Encoding(false, true).GetString(ReadBytes()); }
        catch (DecoderFallbackException) { throw new InvalidDataException("protobuf: string field is not valid UTF-8"); }
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Protobuf.WireVarint: ReadVarint(); break;
            case Protobuf.WireFixed64: Advance(8); break;
            case Protobuf.WireLengthDelimited: ReadBytes(); break;
            case Protobuf.WireFixed32: Advance(4); break;
            default: throw new InvalidDataException($"protobuf: unsupported wire type {wireType}");
        }
    }

    private void Advance(int n)
    {
        if (_pos + n > _data.Length) throw new InvalidDataException("protobuf: truncated field");
        _pos += n;
    }
}
