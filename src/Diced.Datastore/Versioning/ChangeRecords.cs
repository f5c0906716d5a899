namespace Diced.Datastore.Versioning;

/// <summary>The value of a change record: the type keys one commit wrote or deleted, each as a LEB128 length and its bytes.</summary>
public static class ChangeRecords
{
    public static byte[] Encode(IEnumerable<byte[]> tkeys)
    {
        using var ms = new MemoryStream();
        foreach (var k in tkeys)
        {
            uint n = (uint)k.Length;
            while (n >= 0x80)
            {
                ms.WriteByte((byte)(n | 0x80));
                n >>= 7;
            }
            ms.WriteByte((byte)n);
            ms.Write(k);
        }
        return ms.ToArray();
    }

    public static IEnumerable<byte[]> Decode(byte[] record)
    {
        int at = 0;
        while (at < record.Length)
        {
            int n = 0, shift = 0;
            byte b;
            do
            {
                if (at >= record.Length || shift > 28) throw new InvalidDataException("a change record is truncated");
                b = record[at++];
                n |= (b & 0x7F) << shift;
                shift += 7;
            } while (b >= 0x80);
            if (n > record.Length - at) throw new InvalidDataException("a change record is truncated");
            yield return record.AsSpan(at, n).ToArray();
            at += n;
        }
    }
}
