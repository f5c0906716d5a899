using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Diced.Codecs.BlockStreams;

/// <summary>
/// DVID's block streams (<c>subvolblocks</c>, <c>specificblocks</c>, labelmap <c>blocks</c> both ways): a sequence of
/// records, each <c>int32 x, y, z</c> (the block coordinate), <c>int32 N</c>, then N bytes of payload, little-endian.
/// </summary>
public static class BlockStream
{
    /// <summary>Bytes of a record's header.</summary>
    public const int HeaderBytes = 16;

    /// <summary>Writes one record.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, (int X, int Y, int Z) block, ReadOnlySpan<byte> payload)
    {
        var header = writer.GetSpan(HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header, block.X);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], block.Y);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], block.Z);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], payload.Length);
        writer.Advance(HeaderBytes);
        writer.Write(payload);
    }

    /// <summary>Called for each record read; <paramref name="payload"/> is valid only during the call.</summary>
    public delegate void FrameHandler((int X, int Y, int Z) block, ReadOnlySpan<byte> payload);

    /// <summary>
    /// Reads records from <paramref name="reader"/> as they arrive, handing each to <paramref name="onFrame"/> once it is
    /// whole: the stream is never buffered whole, only one record at a time. Returns the number of records.
    /// </summary>
    /// <exception cref="InvalidDataException">A zero-length record, one longer than <paramref name="maxPayloadBytes"/>,
    /// or a stream that ends inside a record.</exception>
    public static async Task<int> ReadAsync(PipeReader reader, int maxPayloadBytes, FrameHandler onFrame, CancellationToken ct = default)
    {
        int frames = 0;
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(ct);
                var buffer = result.Buffer;
                while (TryReadFrame(ref buffer, maxPayloadBytes, ref scratch, onFrame)) frames++;
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) BlockStreamThrow.Truncated(buffer);
                    return frames;
                }
            }
        }
        finally
        {
            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Consumes one whole record from <paramref name="buffer"/>, if there is one.</summary>
    private static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxPayloadBytes, ref byte[]? scratch, FrameHandler onFrame)
    {
        if (buffer.Length < HeaderBytes) return false;
        Span<byte> header = stackalloc byte[HeaderBytes];
        buffer.Slice(0, HeaderBytes).CopyTo(header);
        var block = (BinaryPrimitives.ReadInt32LittleEndian(header), BinaryPrimitives.ReadInt32LittleEndian(header[4..]), BinaryPrimitives.ReadInt32LittleEndian(header[8..]));
        long n = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (n == 0) BlockStreamThrow.ZeroLength(block);
        if (n > maxPayloadBytes) BlockStreamThrow.TooLong(block, n, maxPayloadBytes);
        if (buffer.Length < HeaderBytes + n) return false;
        var payload = buffer.Slice(HeaderBytes, n);
        if (payload.IsSingleSegment) onFrame(block, payload.FirstSpan);
        else
        {
            if (scratch is null || scratch.Length < n)
            {
                if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
                scratch = ArrayPool<byte>.Shared.Rent((int)n);
            }
            payload.CopyTo(scratch);
            onFrame(block, scratch.AsSpan(0, (int)n));
        }
        buffer = buffer.Slice(HeaderBytes + n);
        return true;
    }
}

/// <summary>Cold-path throws of <see cref="BlockStream"/>, kept out of the reading loop.</summary>
internal static class BlockStreamThrow
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ZeroLength((int X, int Y, int Z) b)
        => throw new InvalidDataException($"illegal zero length block at block ({b.X}, {b.Y}, {b.Z}) detected");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void TooLong((int X, int Y, int Z) b, long n, int max)
        => throw new InvalidDataException($"block ({b.X}, {b.Y}, {b.Z}) declares {n} bytes, more than any valid block of this instance ({max})");

    /// <summary>The stream ended inside a record: in its header, or in its payload.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Truncated(ReadOnlySequence<byte> rest)
    {
        if (rest.Length < BlockStream.HeaderBytes)
            throw new InvalidDataException($"block stream is truncated: {rest.Length} bytes left where a {BlockStream.HeaderBytes}-byte block header starts");
        Span<byte> h = stackalloc byte[BlockStream.HeaderBytes];
        rest.Slice(0, BlockStream.HeaderBytes).CopyTo(h);
        throw new InvalidDataException($"block ({BinaryPrimitives.ReadInt32LittleEndian(h)}, {BinaryPrimitives.ReadInt32LittleEndian(h[4..])}, " +
            $"{BinaryPrimitives.ReadInt32LittleEndian(h[8..])}) declares {BinaryPrimitives.ReadUInt32LittleEndian(h[12..])} bytes but only " +
            $"{rest.Length - BlockStream.HeaderBytes} remain: the stream is truncated");
    }
}
