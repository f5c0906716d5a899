using System.Buffers;
using System.Globalization;
using System.Text;

namespace Diced.Codecs.Annotations;

/// <summary>
/// JSON written as Go's <c>encoding/json</c> writes it, byte for byte: compact, strings with <c>&lt; &gt; &amp;</c>,
/// U+2028 and U+2029 escaped as <c>\u00xx</c>/<c>\u20xx</c>, other non-ASCII characters left as UTF-8.
/// </summary>
public static class GoJson
{
    private static readonly byte[] Hex = "0123456789abcdef"u8.ToArray();

    public static void Raw(IBufferWriter<byte> w, ReadOnlySpan<byte> bytes)
    {
        var span = w.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        w.Advance(bytes.Length);
    }

    public static void Byte(IBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }

    public static void Int(IBufferWriter<byte> w, long v)
    {
        var span = w.GetSpan(20);
        v.TryFormat(span, out int n, default, CultureInfo.InvariantCulture);
        w.Advance(n);
    }

    public static void UInt(IBufferWriter<byte> w, ulong v)
    {
        var span = w.GetSpan(20);
        v.TryFormat(span, out int n, default, CultureInfo.InvariantCulture);
        w.Advance(n);
    }

    /// <summary>A JSON string.</summary>
    public static void String(IBufferWriter<byte> w, string s)
    {
        Byte(w, (byte)'"');
        int max = Encoding.UTF8.GetMaxByteCount(s.Length);
        byte[]? rented = null;
        Span<byte> utf8 = max <= 512 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        int len = Encoding.UTF8.GetBytes(s, utf8);
        int start = 0;
        for (int i = 0; i < len; i++)
        {
            byte b = utf8[i];
            ReadOnlySpan<byte> escape = default;
            int code = -1;
            if (b == '"') escape = "\\\""u8;
            else if (b == '\\') escape = "\\\\"u8;
            else if (b == '\n') escape = "\\n"u8;
            else if (b == '\r') escape = "\\r"u8;
            else if (b == '\t') escape = "\\t"u8;
            else if (b < 0x20 || b == '<' || b == '>' || b == '&') code = b;
            else if (b == 0xE2 && i + 2 < len && utf8[i + 1] == 0x80 && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9)) code = 0x2000 | (utf8[i + 2] == 0xA8 ? 0x28 : 0x29);
            else continue;
            Raw(w, utf8[start..i]);
            if (code < 0) Raw(w, escape);
            else
            {
                Raw(w, "\\u"u8);
                var span = w.GetSpan(4);
                span[0] = Hex[(code >> 12) & 15];
                span[1] = Hex[(code >> 8) & 15];
                span[2] = Hex[(code >> 4) & 15];
                span[3] = Hex[code & 15];
                w.Advance(4);
                if (code >= 0x2000) i += 2;
            }
            start = i + 1;
        }
        Raw(w, utf8[start..len]);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        Byte(w, (byte)'"');
    }
}
