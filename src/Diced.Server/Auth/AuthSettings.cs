namespace Diced.Server.Auth;

/// <summary>The <c>Diced:Auth</c> settings. Off by default: the two-command start serves loopback without tokens.</summary>
public sealed class AuthSettings
{
    /// <summary>Require and check tokens and roles (<c>Diced:Auth:Enabled</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>The auth file of users, groups and roles (JSON, see <see cref="AuthPolicy"/>); none: signed-in users write everywhere.</summary>
    public string? File { get; set; }

    /// <summary>The HMAC secret of tokens; default the environment variable <c>DVID_JWT_SECRET_KEY</c>, as DVID.</summary>
    public string? JwtSecret { get; set; }

    /// <summary>Lifetime of tokens minted by <c>/api/server/token</c>.</summary>
    public double TokenHours { get; set; } = 24 * 7;

    public string? Secret => string.IsNullOrEmpty(JwtSecret) ? Environment.GetEnvironmentVariable("DVID_JWT_SECRET_KEY") : JwtSecret;
}
