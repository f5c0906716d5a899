using K4os.Compression.LZ4;

namespace Diced.Codecs;

/// <summary>Raw LZ4 blocks (no frame, no size header), as DVID sends for <c>compression=lz4</c>.</summary>
public static class Lz4Block
{
    /// <summary>Compresses <paramref name="source"/> into a new raw LZ4 block.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> source)
    {
        var buffer = new byte[LZ4Codec.MaximumOutputSize(source.Length)];
        int n = LZ4Codec.Encode(source, buffer, LZ4Level.L00_FAST);
        Array.Resize(ref buffer, n);
        return buffer;
    }

    /// <summary>The largest block <paramref name="sourceLength"/> bytes can compress to.</summary>
    public static int MaxEncodedLength(int sourceLength) => LZ4Codec.MaximumOutputSize(sourceLength);

    /// <summary>Compresses <paramref name="source"/> into <paramref name="destination"/> (at least <see cref="MaxEncodedLength"/>); returns the block's length.</summary>
    public static int EncodeInto(ReadOnlySpan<byte> source, Span<byte> destination) => LZ4Codec.Encode(source, destination, LZ4Level.L00_FAST);

    /// <summary>Decodes a raw LZ4 block that must expand to exactly <paramref name="destination"/>'s length.</summary>
    /// <exception cref="InvalidDataException">The block is corrupt or decodes to another length.</exception>
    public static void Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int n = source.Length == 0 && destination.Length == 0 ? 0 : LZ4Codec.Decode(source, destination);
        if (n != destination.Length)
            throw new InvalidDataException($"LZ4 data decoded to {(n < 0 ? "nothing (corrupt block)" : n + " bytes")}, expected {destination.Length} bytes");
    }
}
