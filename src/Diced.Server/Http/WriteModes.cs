using Microsoft.Extensions.Options;

namespace Diced.Server.Http;

/// <summary>
/// DVID's server-wide write modes (<c>server/web.go</c>): <c>-readonly</c> answers anything but GET and HEAD with DVID's
/// message; <c>-fullwrite</c> lets writes and mutations reach locked nodes. Admin privilege (<c>?admintoken=</c>)
/// bypasses both, as in DVID.
/// </summary>
public sealed class WriteModes
{
    private readonly DicedOptions _options;

    public WriteModes(IOptions<DicedOptions> options)
    {
        _options = options.Value;
        if (_options.ReadOnly && _options.FullWrite)
            throw new ArgumentException("Can only do -fullwrite or -readonly, not both (Diced:ReadOnly and Diced:FullWrite).");
    }

    /// <summary>Whether this request may change locked nodes.</summary>
    public bool MayWriteLockedNodes(HttpContext http) => _options.FullWrite || Endpoints.Admin.IsAdmin(http, _options);

    /// <summary>Refuses everything but GET, HEAD (and CORS preflights) on a read-only server, before routing.</summary>
    public static IApplicationBuilder UseReadOnlyMode(IApplicationBuilder app, DicedOptions options)
        => !options.ReadOnly ? app : app.Use(async (http, next) =>
        {
            var m = http.Request.Method;
            if (!HttpMethods.IsGet(m) && !HttpMethods.IsHead(m) && !HttpMethods.IsOptions(m) && !Endpoints.Admin.IsAdmin(http, options))
                throw Reject.BadRequest("Server in read-only mode and will only accept GET and HEAD requests");
            await next(http);
        });
}
