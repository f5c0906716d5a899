using Microsoft.Extensions.Options;

namespace Diced.Server.Auth;

/// <summary>The auth file as last loaded (<c>POST /api/server/reload-auth</c> loads it again).</summary>
public sealed class AuthState(IOptions<DicedOptions> options)
{
    private AuthPolicy _policy = options.Value.Auth.Enabled ? AuthPolicy.Load(options.Value.Auth.File) : AuthPolicy.Default();

    public AuthPolicy Policy => Volatile.Read(ref _policy);

    public string? File => options.Value.Auth.File;

    /// <summary>Reads the auth file again; a bad file leaves the current policy in force and throws with the reason.</summary>
    public void Reload() => Volatile.Write(ref _policy, AuthPolicy.Load(options.Value.Auth.File));
}
