using System.Buffers.Binary;
using System.Text.Json;

namespace Diced.Datastore.Versioning;

/// <summary>
/// A durable per-instance log of changes, DVID's mutation log: one JSON record per change, stored at the version that
/// made it (so a version sees its ancestors' records too) and written in the same transaction as the change.
/// </summary>
public static class MutationLog
{
    /// <summary>Records whose <c>UUID</c> is one of <paramref name="chain"/>'s versions, in the chain's order (each version's
    /// records in their stored order).</summary>
    public static List<JsonElement> InVersions(IEnumerable<JsonElement> records, IReadOnlyList<NodeRecord> chain)
    {
        var byVersion = records.GroupBy(r => r.TryGetProperty("UUID", out var u) ? u.GetString() ?? "" : "").ToDictionary(g => g.Key, g => g.ToList());
        return chain.SelectMany(n => byVersion.GetValueOrDefault(n.Uuid) ?? []).ToList();
    }

    /// <summary>A key for a record of a log kept in time order (keyvalue): the class byte, the time, then random bytes.</summary>
    public static byte[] TimeOrderedKey(byte classByte)
    {
        var k = new byte[17];
        k[0] = classByte;
        BinaryPrimitives.WriteInt64BigEndian(k.AsSpan(1), DateTime.UtcNow.Ticks);
        Random.Shared.NextBytes(k.AsSpan(9));
        return k;
    }

    /// <summary>Every record visible at <paramref name="data"/>'s version under <paramref name="classByte"/>.</summary>
    public static async Task<List<JsonElement>> ReadAsync(VersionedData data, byte classByte, CancellationToken ct)
    {
        var list = new List<JsonElement>();
        await foreach (var (_, v) in data.ScanAsync([classByte], [(byte)(classByte + 1)], false, ct))
            list.Add(JsonDocument.Parse(v).RootElement.Clone());
        return list;
    }
}
