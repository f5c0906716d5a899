using System.Security.Cryptography;

namespace Diced.Datastore;

/// <summary>DVID version and data UUIDs: 32 lowercase hex characters, no dashes.</summary>
public static class Uuids
{
    public static string New()
    {
        Span<byte> b = stackalloc byte[16];
        RandomNumberGenerator.Fill(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40); // version 4
        b[8] = (byte)((b[8] & 0x3F) | 0x80); // RFC 4122 variant
        return Convert.ToHexStringLower(b);
    }

    /// <summary>A stable UUID derived from another and a purpose (for instances that are not stored).</summary>
    public static string Derived(string uuid, string purpose)
        => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(uuid + "/" + purpose))[..16]);

    public static bool IsValid(string s) => s.Length == 32 && s.All(Uri.IsHexDigit);
}
