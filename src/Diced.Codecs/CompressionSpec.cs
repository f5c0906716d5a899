namespace Diced.Codecs;

/// <summary>Which general-purpose codec a stored value uses. Numbers are DVID's header codes (zstd is Diced's).</summary>
public enum CompressionKind : byte
{
    None = 0,
    Snappy = 1,
    Gzip = 2,
    Lz4 = 4,
    Jpeg = 5,
    Zstd = 6,
}

/// <summary>An instance's <c>Compression</c> setting: a codec and its level.</summary>
public readonly record struct CompressionSpec(CompressionKind Kind, int Level)
{
    public static readonly CompressionSpec None = new(CompressionKind.None, -1);
    public static readonly CompressionSpec Lz4 = new(CompressionKind.Lz4, -1);
    public static readonly CompressionSpec Gzip = new(CompressionKind.Gzip, -1);

    /// <summary>Parses DVID's setting: <c>none</c>, <c>lz4</c>, <c>gzip[:1-9]</c>, <c>zstd[:1-22]</c>, <c>jpeg[:1-100]</c> (case-insensitive).</summary>
    /// <exception cref="FormatException">The string names no supported codec or level.</exception>
    public static CompressionSpec Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        var name = s;
        int level = -1;
        int colon = s.IndexOf(':');
        if (colon >= 0)
        {
            name = s[..colon];
            if (!int.TryParse(s[(colon + 1)..], out level))
                throw new FormatException($"Illegal compression level specified: {text}");
        }
        (CompressionKind kind, int min, int max) = name switch
        {
            "none" or "" => (CompressionKind.None, -1, -1),
            "lz4" => (CompressionKind.Lz4, -1, -1),
            "gzip" => (CompressionKind.Gzip, 1, 9),
            "zstd" => (CompressionKind.Zstd, 1, 22),
            "jpeg" or "jpg" => (CompressionKind.Jpeg, 1, 100),
            "snappy" => throw new FormatException("snappy compression is not supported by this server; use lz4, gzip or zstd"),
            _ => throw new FormatException($"Illegal compression specified: {text}"),
        };
        if (colon >= 0 && (min < 0 || level < min || level > max))
            throw new FormatException($"Illegal compression level specified: {text}");
        return new CompressionSpec(kind, colon >= 0 ? level : -1);
    }

    /// <summary>DVID's description string, e.g. <c>LZ4 compression, level -1</c>.</summary>
    public string Describe() => Kind switch
    {
        CompressionKind.None => $"No compression, level {Level}",
        CompressionKind.Snappy => $"Go Snappy compression, level {Level}",
        CompressionKind.Lz4 => $"LZ4 compression, level {Level}",
        CompressionKind.Gzip => $"gzip compression, level {Level}",
        CompressionKind.Zstd => $"zstd compression, level {Level}",
        CompressionKind.Jpeg => $"jpeg compression, level {Level}",
        _ => Kind.ToString(),
    };

    /// <summary>The setting string that <see cref="Parse"/> reads back.</summary>
    public override string ToString() => Kind switch
    {
        CompressionKind.None => "none",
        CompressionKind.Lz4 => "lz4",
        CompressionKind.Gzip => Level > 0 ? $"gzip:{Level}" : "gzip",
        CompressionKind.Zstd => Level > 0 ? $"zstd:{Level}" : "zstd",
        CompressionKind.Jpeg => Level > 0 ? $"jpeg:{Level}" : "jpeg",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
