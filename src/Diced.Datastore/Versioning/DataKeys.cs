using System.Buffers.Binary;

namespace Diced.Datastore.Versioning;

/// <summary>
/// The key layout in the ordered store.
/// Metadata: <c>0x00 | name</c>. Data: <c>0x01 | instance id (u32 BE) | type key | version id (u32 BE) | marker</c>,
/// marker 0x03 for a value and 0x4F for a tombstone (empty value). Type keys are prefix-free within an
/// instance, so all stored versions of one type key are adjacent and nothing else sits between them.
/// Changes: <c>0x02 | instance id | version id | record id</c>, one record per commit listing the type keys it wrote
/// or deleted (<see cref="ChangeRecords"/>), in the same batch as the data, so what a version changed is one prefix
/// scan (diff, merge, prune) and a commit adds one key, not one per block (one object on S3).
/// </summary>
public static class DataKeys
{
    public const byte MetadataPrefix = 0x00;
    public const byte DataPrefix = 0x01;
    public const byte ChangePrefix = 0x02;
    public const byte ValueMarker = 0x03;
    public const byte TombstoneMarker = 0x4F;

    /// <summary>Bytes after the type key: version id and marker.</summary>
    public const int SuffixLength = 5;

    public static byte[] Metadata(string name)
    {
        var k = new byte[1 + System.Text.Encoding.UTF8.GetByteCount(name)];
        k[0] = MetadataPrefix;
        System.Text.Encoding.UTF8.GetBytes(name, k.AsSpan(1));
        return k;
    }

    public static byte[] InstancePrefix(uint instanceId)
    {
        var k = new byte[5];
        k[0] = DataPrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), instanceId);
        return k;
    }

    /// <summary>All stored versions of <paramref name="tkey"/> start with this.</summary>
    public static byte[] TypeKeyPrefix(uint instanceId, ReadOnlySpan<byte> tkey)
    {
        var k = new byte[5 + tkey.Length];
        k[0] = DataPrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), instanceId);
        tkey.CopyTo(k.AsSpan(5));
        return k;
    }

    public static byte[] Versioned(uint instanceId, ReadOnlySpan<byte> tkey, uint version, byte marker)
    {
        var k = new byte[5 + tkey.Length + SuffixLength];
        k[0] = DataPrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), instanceId);
        tkey.CopyTo(k.AsSpan(5));
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(5 + tkey.Length), version);
        k[^1] = marker;
        return k;
    }

    /// <summary>A new change record key of one instance at one version (a time-ordered unique id).</summary>
    public static byte[] NewChange(uint instanceId, uint version)
    {
        var k = ChangesAt(instanceId, version);
        Array.Resize(ref k, 9 + 16);
        Guid.CreateVersion7().TryWriteBytes(k.AsSpan(9), bigEndian: true, out _);
        return k;
    }

    /// <summary>Every change record of one instance at one version starts with this.</summary>
    public static byte[] ChangesAt(uint instanceId, uint version)
    {
        var k = new byte[9];
        k[0] = ChangePrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), instanceId);
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(5), version);
        return k;
    }

    /// <summary>Every change record of one instance starts with this.</summary>
    public static byte[] ChangesOf(uint instanceId)
    {
        var k = new byte[5];
        k[0] = ChangePrefix;
        BinaryPrimitives.WriteUInt32BigEndian(k.AsSpan(1), instanceId);
        return k;
    }

    /// <summary>The version id of a change record key.</summary>
    public static uint VersionOfChange(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32BigEndian(key[5..]);

    /// <summary>The version id of a full data key.</summary>
    public static uint VersionOf(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32BigEndian(key[^SuffixLength..]);

    public static bool IsTombstone(ReadOnlySpan<byte> key) => key[^1] == TombstoneMarker;

    /// <summary>The type key of a full data key.</summary>
    public static ReadOnlySpan<byte> TypeKeyOf(ReadOnlySpan<byte> key) => key[5..^SuffixLength];

    /// <summary>
    /// Encodes an arbitrary byte string as a prefix-free, order-preserving type key:
    /// 0x00 becomes 0x00 0xFF and the end is marked 0x00 0x01, so a proper prefix sorts first.
    /// </summary>
    public static byte[] EscapeString(ReadOnlySpan<byte> s, byte classByte)
    {
        int zeros = 0;
        foreach (var b in s) if (b == 0) zeros++;
        var k = new byte[1 + s.Length + zeros + 2];
        k[0] = classByte;
        int j = 1;
        foreach (var b in s)
        {
            k[j++] = b;
            if (b == 0) k[j++] = 0xFF;
        }
        k[j++] = 0x00;
        k[j] = 0x01;
        return k;
    }

    /// <summary>Inverse of <see cref="EscapeString"/> (the class byte is dropped).</summary>
    public static byte[] UnescapeString(ReadOnlySpan<byte> tkey)
    {
        var body = tkey[1..^2];
        var r = new List<byte>(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            r.Add(body[i]);
            if (body[i] == 0) i++; // skip the 0xFF escape
        }
        return r.ToArray();
    }
}
