namespace Diced.Storage;

/// <summary>Bytewise key ordering helpers shared by the backends.</summary>
public static class KeyOrder
{
    /// <summary>Unsigned lexicographic comparison, shorter prefix first.</summary>
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b);

    /// <summary>Comparer for sorted containers.</summary>
    public static readonly IComparer<byte[]> Comparer = Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b));

    /// <summary>The smallest key greater than every key that starts with <paramref name="prefix"/>, or empty if none exists.</summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        var end = prefix.ToArray();
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] != 0xFF)
            {
                end[i]++;
                return end[..(i + 1)];
            }
        }
        return Array.Empty<byte>();
    }
}
