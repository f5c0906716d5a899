using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Diced.Server.Auth;

/// <summary>
/// DVID-compatible tokens on ASP.NET Core's JWT bearer authentication: HMAC-signed JWTs (HS256/384/512) with the
/// secret of <c>DVID_JWT_SECRET_KEY</c>, the user in the claim <c>user</c>, <c>exp</c> honoured when present, sent as
/// <c>Authorization: Bearer …</c>. Any other algorithm (<c>none</c> included) is refused.
/// </summary>
public static class AuthSetup
{
    public const string Scheme = JwtBearerDefaults.AuthenticationScheme;
    public const string UserClaim = "user";
    private static readonly string[] Algorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512];

    public static void AddDicedAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AuthState>();
        // No default scheme: ASP.NET would then authenticate every request itself; AccessMiddleware does it, once, when auth is on.
        builder.Services.AddAuthentication().AddJwtBearer(Scheme, _ => { });
        builder.Services.AddOptions<JwtBearerOptions>(Scheme).Configure<IOptions<DicedOptions>>((o, diced) =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = Parameters(diced.Value.Auth);
        });
    }

    /// <summary>How tokens are checked: signature by the secret, one of the HMAC algorithms, lifetime only if given.</summary>
    public static TokenValidationParameters Parameters(AuthSettings settings) => new()
    {
        ValidateIssuer = false, ValidateAudience = false, ValidateLifetime = true, RequireExpirationTime = false,
        RequireSignedTokens = true, ValidateIssuerSigningKey = true, ValidAlgorithms = Algorithms,
        IssuerSigningKey = settings.Secret is { Length: > 0 } s ? new SymmetricSecurityKey(Encoding.UTF8.GetBytes(s)) : null,
        NameClaimType = UserClaim, ClockSkew = TimeSpan.FromSeconds(30),
    };

    /// <summary>Checks the settings at start: a secret long enough for HS256 when auth is on, a warning when it is off beyond loopback.</summary>
    public static void Check(WebApplication app, DicedOptions options)
    {
        if (options.Auth.Enabled)
        {
            if (Encoding.UTF8.GetByteCount(options.Auth.Secret ?? "") < 32)
                throw new InvalidOperationException("Diced:Auth:Enabled needs a token secret of at least 32 bytes in DVID_JWT_SECRET_KEY (or Diced:Auth:JwtSecret)");
            app.Services.GetRequiredService<AuthState>(); // loads the auth file now: a bad one stops the start
            return;
        }
        var urls = app.Urls.Count > 0 ? app.Urls : (app.Configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries).ToList();
        var exposed = urls.Where(u => !IsLoopback(u)).ToList();
        if (exposed.Count > 0)
            app.Logger.LogWarning("Listening beyond loopback ({Urls}) without authentication: anyone who can reach the port can read, write and delete. Set Diced:Auth:Enabled=true (see README, Authentication)", string.Join(", ", exposed));
    }

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var u)) return false;
        return u.Host is "localhost" || (System.Net.IPAddress.TryParse(u.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
    }

    /// <summary>Mints a token for <paramref name="user"/>, signed with HS256, valid for <see cref="AuthSettings.TokenHours"/>.</summary>
    public static string Mint(AuthSettings settings, string user)
    {
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(settings.Secret ?? throw new InvalidOperationException("no token secret")));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { [UserClaim] = user },
            Expires = DateTime.UtcNow.AddHours(settings.TokenHours),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>A token failure in one line.</summary>
    public static string Describe(Exception e) => e switch
    {
        SecurityTokenExpiredException => "the token has expired",
        SecurityTokenNotYetValidException => "the token is not valid yet",
        SecurityTokenInvalidAlgorithmException or SecurityTokenSignatureKeyNotFoundException when e.Message.Contains("IDX10511") || e.Message.Contains("none") => "the token's algorithm is not accepted (HS256, HS384 or HS512)",
        SecurityTokenInvalidAlgorithmException => "the token's algorithm is not accepted (HS256, HS384 or HS512)",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "the token's signature does not match this server's secret",
        SecurityTokenMalformedException or ArgumentException => "the token is not a well-formed JWT",
        _ => e.Message.Split('\n')[0],
    };

    /// <summary><c>/api/server/token</c>, <c>/api/server/whoami</c> and <c>POST /api/server/reload-auth</c>.</summary>
    public static void MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/api/server/token", Http.DvidRouting.GetAndHead, (HttpContext http, IOptions<DicedOptions> o) =>
        {
            if (!o.Value.Auth.Enabled) throw Http.Reject.BadRequest("tokens are not used: this server runs without authentication (Diced:Auth:Enabled)");
            var caller = Caller.Of(http)!;
            // An admin may mint a token for any user (?user=); everyone else gets a fresh one of their own.
            var user = caller.ServerAdmin && http.Request.Query["user"].ToString() is { Length: > 0 } named ? named : caller.User
                ?? throw Http.Reject.BadRequest("an admin needs ?user= to mint a token");
            http.Response.ContentType = "text/plain; charset=utf-8";
            return http.Response.WriteAsync(Mint(o.Value.Auth, user));
        });
        app.MapMethods("/api/server/whoami", Http.DvidRouting.GetAndHead, (HttpContext http, IOptions<DicedOptions> o) =>
        {
            var caller = Caller.Of(http);
            return Json.DvidJson.WriteAsync(http, w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("AuthEnabled", o.Value.Auth.Enabled);
                if (caller?.User is { } u) w.WriteString("User", u); else w.WriteNull("User");
                w.WriteBoolean("Admin", caller?.ServerAdmin == true);
                w.WriteEndObject();
                return ValueTask.CompletedTask;
            });
        });
        app.MapPost("/api/server/reload-auth", (HttpContext http, AuthState state, IOptions<DicedOptions> o) =>
        {
            if (!o.Value.Auth.Enabled) throw Http.Reject.BadRequest("there is no auth file to reload: this server runs without authentication");
            try { state.Reload(); }
            catch (InvalidOperationException e) { throw Http.Reject.BadRequest($"unable to reload auth file: {e.Message}"); }
            http.Response.ContentType = "text/plain; charset=utf-8";
            return http.Response.WriteAsync($"Reloaded authorizations from file \"{state.File}\".\n");
        });
    }
}
