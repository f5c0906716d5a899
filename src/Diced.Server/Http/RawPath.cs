using System.Text;
using Diced.Datastore;
using Microsoft.AspNetCore.Http.Features;

namespace Diced.Server.Http;

/// <summary>
/// The request path as the client sent it. Kestrel decodes the path once for routing but leaves <c>%2F</c> encoded,
/// so a route value cannot tell <c>a%2Fb</c> from <c>a%252Fb</c>; where the exact text matters (keyvalue keys) the
/// segment is decoded here from the raw target, exactly once, and what does not decode to valid UTF-8 is refused.
/// </summary>
public static class RawPath
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>The path of the request target, still percent-encoded (no query).</summary>
    public static string Encoded(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/') raw = http.Request.PathBase + http.Request.Path.ToUriComponent();
        int q = raw.IndexOf('?');
        return q < 0 ? raw : raw[..q];
    }

    /// <summary>Segment <paramref name="index"/> of the path (0 is the first after the leading '/'), decoded exactly once.</summary>
    public static string Segment(HttpContext http, int index, string what)
    {
        var segments = Encoded(http).Split('/');
        if (index + 1 >= segments.Length) throw Reject.BadRequest($"the path has no {what}");
        return Decode(segments[index + 1], what);
    }

    /// <summary>Percent-decodes <paramref name="encoded"/> to bytes, which must be UTF-8.</summary>
    public static string Decode(string encoded, string what)
    {
        if (encoded.IndexOf('%') < 0) return encoded;
        var bytes = new List<byte>(encoded.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < encoded.Length; i++)
        {
            char c = encoded[i];
            if (c == '%')
            {
                if (i + 2 >= encoded.Length || !IsHex(encoded[i + 1]) || !IsHex(encoded[i + 2]))
                    throw Reject.BadRequest($"{what} \"{encoded}\" has a '%' that is not followed by two hex digits");
                bytes.Add(Convert.ToByte(encoded.Substring(i + 1, 2), 16));
                i += 2;
                continue;
            }
            int n = Encoding.UTF8.GetBytes([c], utf8);
            for (int k = 0; k < n; k++) bytes.Add(utf8[k]);
        }
        try { return StrictUtf8.GetString(bytes.ToArray()); }
        catch (DecoderFallbackException) { throw Reject.BadRequest($"{what} \"{encoded}\" does not decode to UTF-8 text"); }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    /// <summary>Whether a path segment is '.' or '..' (also written %2E).</summary>
    public static bool HasDotSegment(string encodedPath)
    {
        foreach (var segment in encodedPath.Split('/'))
        {
            var s = segment.Replace("%2e", ".", StringComparison.OrdinalIgnoreCase);
            if (s is "." or "..") return true;
        }
        return false;
    }

    /// <summary>
    /// Refuses request targets with '.' or '..' segments before routing: clients and proxies collapse them, so the
    /// route that would run is not the one the client named (<c>DELETE /api/repo/U/.</c> would reach the repo).
    /// </summary>
    public static IApplicationBuilder UseDotSegmentGuard(this IApplicationBuilder app)
        => app.Use(async (http, next) =>
        {
            if (HasDotSegment(Encoded(http)))
                throw Reject.BadRequest("path segments \".\" and \"..\" are not allowed; name the resource directly");
            await next(http);
        });
}
