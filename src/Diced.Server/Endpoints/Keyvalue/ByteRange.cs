using System.Globalization;
using Diced.Server.Http;

namespace Diced.Server.Endpoints.Keyvalue;

/// <summary>Byte-range selection of a keyvalue value: <c>?byte_start=&amp;byte_end=</c> or a single <c>Range: bytes=</c> header.</summary>
public readonly record struct ByteRange(long Start, long End, bool FromHeader)
{
    public long Length => End - Start + 1;

    /// <summary>Validates the query form before any data is read (only both-or-neither and integers can be checked).</summary>
    public static (long Start, long End)? ParseQuery(HttpContext http)
    {
        var q = http.Request.Query;
        bool hasStart = q.ContainsKey("byte_start"), hasEnd = q.ContainsKey("byte_end");
        if (!hasStart && !hasEnd) return null;
        if (!hasStart || !hasEnd) throw Reject.BadRequest("byte_start and byte_end must both be specified");
        if (http.Request.Headers.Range.Count > 0) throw Reject.BadRequest("cannot combine a Range header with byte_start/byte_end");
        if (!long.TryParse(q["byte_start"], NumberStyles.None, CultureInfo.InvariantCulture, out var a) ||
            !long.TryParse(q["byte_end"], NumberStyles.None, CultureInfo.InvariantCulture, out var b))
            throw Reject.BadRequest("byte_start and byte_end must be non-negative integers");
        if (a > b) throw Reject.BadRequest($"byte_start ({a}) is greater than byte_end ({b})");
        return (a, b);
    }

    /// <summary>
    /// The slice to send for a value of <paramref name="length"/> bytes: null for the whole value, or throws 416
    /// (<see cref="UnsatisfiableRangeException"/>) when a Range header cannot be satisfied.
    /// </summary>
    public static ByteRange? Select(HttpContext http, long length)
    {
        if (ParseQuery(http) is { } q)
        {
            if (q.End >= length) throw Reject.BadRequest($"byte range {q.Start}-{q.End} is outside the value's {length} bytes");
            return new ByteRange(q.Start, q.End, false);
        }
        var header = http.Request.Headers.Range.ToString();
        if (header.Length == 0) return null;
        return ParseHeader(header, length);
    }

    /// <summary>Parses one <c>bytes=</c> range; malformed, multi-range and inverted ranges are ignored (whole value).</summary>
    public static ByteRange? ParseHeader(string header, long length)
    {
        const string unit = "bytes=";
        if (!header.StartsWith(unit, StringComparison.OrdinalIgnoreCase)) return null;
        var spec = header[unit.Length..].Trim();
        if (spec.Length == 0) throw new UnsatisfiableRangeException(length);
        if (spec.Contains(',')) return null;
        int dash = spec.IndexOf('-');
        if (dash < 0) return null;
        string a = spec[..dash].Trim(), b = spec[(dash + 1)..].Trim();
        if (a.Length == 0)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix)) return null;
            if (suffix == 0 || length == 0) throw new UnsatisfiableRangeException(length);
            return new ByteRange(Math.Max(0, length - suffix), length - 1, true);
        }
        if (!long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out var start)) return null;
        long end = length - 1;
        if (b.Length > 0)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out end)) return null;
            if (start > end) return null;
        }
        if (start >= length) throw new UnsatisfiableRangeException(length);
        return new ByteRange(start, Math.Min(end, length - 1), true);
    }
}

/// <summary>A Range header no byte of the value satisfies (416).</summary>
public sealed class UnsatisfiableRangeException(long length) : Exception("Requested range not satisfiable")
{
    public long Length { get; } = length;
}
