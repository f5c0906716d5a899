using Diced.Codecs;
using Diced.Codecs.Images;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>How a volume stores one block: the instance's codec, encoding packed voxels to a stored value and back.</summary>
public interface IBlockCodec
{
    CompressionSpec Spec { get; }

    byte[] Encode(ReadOnlySpan<byte> block);

    /// <summary>Decodes a stored block into <paramref name="destination"/> (exactly one block of voxels).</summary>
    void Decode(ReadOnlySpan<byte> stored, Span<byte> destination);
}

/// <summary>Encodes and decodes one stored block in an instance's codec (DVID's envelope; JPEG for lossy uint8).</summary>
public sealed class BlockCodec(CompressionSpec spec, Point3 blockSize, bool checksum) : IBlockCodec
{
    private const byte JpegHeader = (byte)CompressionKind.Jpeg << 5;

    public CompressionSpec Spec => spec;

    public byte[] Encode(ReadOnlySpan<byte> block)
    {
        if (spec.Kind != CompressionKind.Jpeg) return ValueEnvelope.Encode(block, spec, checksum);
        var jpeg = JpegCodec.EncodeGray(blockSize.X, blockSize.Y * blockSize.Z, block, spec.Level > 0 ? spec.Level : JpegCodec.DefaultQuality);
        var stored = new byte[1 + jpeg.Length];
        stored[0] = JpegHeader;
        jpeg.CopyTo(stored, 1);
        return stored;
    }

    /// <summary>Decodes a stored block into <paramref name="destination"/> (exactly one block of voxels).</summary>
    public void Decode(ReadOnlySpan<byte> stored, Span<byte> destination)
    {
        try
        {
            if (ValueEnvelope.KindOf(stored) == CompressionKind.Jpeg)
                JpegCodec.DecodeGray(ValueEnvelope.Payload(stored), blockSize.X, blockSize.Y * blockSize.Z, destination);
            else
                ValueEnvelopeInto.Decode(stored, destination);
        }
        catch (InvalidDataException e)
        {
            throw new DatastoreException($"stored block is corrupt: {e.Message}", ErrorKind.BadRequest, e);
        }
    }
}
