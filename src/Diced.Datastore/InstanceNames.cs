namespace Diced.Datastore;

/// <summary>
/// Which data instance names are allowed: DVID's reserved names are refused, and so is anything that cannot be
/// addressed as one URL path segment (<c>/api/node/{uuid}/{name}/…</c>) without being rewritten on the way: the
/// empty name, <c>.</c> and <c>..</c> (clients and proxies collapse them), separators and characters with a meaning
/// in URLs (<c>/ \ ? # %</c>), whitespace and control characters.
/// </summary>
public static class InstanceNames
{
    private static readonly HashSet<string> Reserved = ["log", "branch", "note", "commit", "newversion", "status", "tag", "info"];
    private const int MaxUtf8Bytes = 255;
    private static readonly System.Text.UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    /// <summary>Why <paramref name="name"/> cannot name an instance, or null when it can.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "an instance name must not be empty";
        if (name is "." or "..") return $"\"{name}\" cannot name an instance: URLs collapse it";
        if (Reserved.Contains(name)) return $"\"{name}\" is a reserved name";
        int bytes;
        try { bytes = Strict.GetByteCount(name); }
        catch (System.Text.EncoderFallbackException) { return "an instance name must be valid Unicode"; }
        if (bytes > MaxUtf8Bytes) return $"an instance name is at most {MaxUtf8Bytes} bytes";
        foreach (var c in name)
            if (c is '/' or '\\' or '?' or '#' or '%' || char.IsWhiteSpace(c) || char.IsControl(c))
                return $"\"{name}\" contains a character that cannot be used in a URL path segment ({Describe(c)})";
        return null;
    }

    /// <summary>Throws a 400 naming the problem when <paramref name="name"/> cannot name an instance.</summary>
    public static void Validate(string name)
    {
        if (Problem(name) is { } problem) throw DatastoreException.BadRequest($"Data name is not allowed: {problem}");
    }

    private static string Describe(char c) => char.IsWhiteSpace(c) || char.IsControl(c) ? $"U+{(int)c:X4}" : $"'{c}'";
}
