using System.Globalization;

namespace Diced.Datastore;

/// <summary>Parsing as DVID's Go handlers parse, with Go's error text (clients match on it).</summary>
public static class GoStrconv
{
    /// <summary><c>strconv.ParseUint(text, 10, 64)</c>: a decimal uint64, else a 400 with Go's message.</summary>
    public static ulong ParseUint(string text)
        => ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw DatastoreException.BadRequest($"strconv.ParseUint: parsing \"{text}\": {(text.Length > 0 && text.All(char.IsAsciiDigit) ? "value out of range" : "invalid syntax")}");
}
