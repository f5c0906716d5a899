using System.Globalization;

namespace Diced.Datastore;

/// <summary>Parsing as DVID's Go handlers parse, with Go's error text (clients match on it).</summary>
public static class GoStrconv
{
    /// <summary><c>strconv.ParseUint(text, 10, 64)</c>: a decimal uint64, else a 400 with Go's message.</summary>
    public static ulong ParseUint(string text)
        => TryParseUint(text, out var v, out var error) ? v : throw DatastoreException.BadRequest(error);

    /// <summary>As <see cref="ParseUint"/>, with Go's error text instead of an exception.</summary>
    public static bool TryParseUint(string text, out ulong value, out string error)
    {
        error = "";
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value)) return true;
        error = $"strconv.ParseUint: parsing \"{text}\": {(text.Length > 0 && text.All(char.IsAsciiDigit) ? "value out of range" : "invalid syntax")}";
        return false;
    }
}
