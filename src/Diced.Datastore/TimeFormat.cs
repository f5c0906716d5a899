using System.Globalization;

namespace Diced.Datastore;

/// <summary>Go's time formats as DVID prints them.</summary>
public static class TimeFormat
{
    /// <summary>RFC 3339 with trimmed fractional seconds, like Go's <c>time.RFC3339Nano</c> (JSON timestamps).</summary>
    public static string Rfc3339Nano(DateTimeOffset t)
    {
        var s = t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return s + Zone(t);
    }

    /// <summary>RFC 3339 to the second, like Go's <c>time.RFC3339</c> (log lines).</summary>
    public static string Rfc3339(DateTimeOffset t)
        => t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + Zone(t);

    private static string Zone(DateTimeOffset t)
        => t.Offset == TimeSpan.Zero ? "Z" : t.ToString("zzz", CultureInfo.InvariantCulture);

    /// <summary>Go's <c>time.Time.String()</c> without the monotonic part, e.g. <c>2026-06-22 18:17:04.1234567 +0000 UTC</c>
    /// (the <c>Timestamp</c> of DVID's mutation records, which clients parse with that pattern).</summary>
    public static string GoTime(DateTimeOffset t)
    {
        var u = t.ToUniversalTime();
        return u.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + " +0000 UTC";
    }

    /// <summary>A log entry as DVID stores it: time, two spaces, message.</summary>
    public static string LogLine(DateTimeOffset t, string message) => $"{Rfc3339(t)}  {message}";
}
