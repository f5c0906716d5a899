using System.Runtime.InteropServices;
using Diced.Codecs;
using Diced.Codecs.Labels;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;

namespace Diced.Datastore.Types.Labels;

/// <summary>
/// Label blocks as stored by labelmap/labelarray: the DVID label block format (§10.3) inside the instance's
/// compression envelope (zstd by default; gzip gives exactly DVID's stored bytes).
/// </summary>
public sealed class LabelBlockCodec(CompressionSpec spec, Point3 blockSize, bool checksum, IReadOnlyDictionary<ulong, ulong>? mapping = null) : IBlockCodec
{
    public CompressionSpec Spec => spec;

    /// <summary>The same codec decoding supervoxels to bodies through <paramref name="bodies"/> (reads only).</summary>
    public LabelBlockCodec Mapped(IReadOnlyDictionary<ulong, ulong> bodies) => new(spec, blockSize, checksum, bodies);

    public byte[] Encode(ReadOnlySpan<byte> block)
        => mapping is not null ? throw new InvalidOperationException("a mapped label codec only reads") : ValueEnvelope.Encode(LabelBlock.Encode(MemoryMarshal.Cast<byte, ulong>(block), (blockSize.X, blockSize.Y, blockSize.Z)), spec, checksum);

    public void Decode(ReadOnlySpan<byte> stored, Span<byte> destination)
    {
        var dvid = DvidBlock(stored);
        try
        {
            // The decoded envelope is this call's own copy: its label table is mapped in place, once per block.
            if (mapping is not null) LabelBlock.RemapTable(dvid, mapping);
            LabelBlock.DecodeExactly(dvid, (blockSize.X, blockSize.Y, blockSize.Z), MemoryMarshal.Cast<byte, ulong>(destination));
        }
        catch (InvalidDataException e)
        {
            throw new DatastoreException($"stored label block is corrupt: {e.Message}", ErrorKind.BadRequest, e);
        }
    }

    /// <summary>The DVID label block inside a stored value.</summary>
    public static byte[] DvidBlock(ReadOnlySpan<byte> stored)
    {
        try { return ValueEnvelope.Decode(stored); }
        catch (InvalidDataException e) { throw new DatastoreException($"stored label block is corrupt: {e.Message}", ErrorKind.BadRequest, e); }
    }
}
