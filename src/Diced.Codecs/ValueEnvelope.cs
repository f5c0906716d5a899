using System.Buffers.Binary;
using System.IO.Compression;

namespace Diced.Codecs;

/// <summary>
/// DVID's stored-value envelope: one header byte <c>(compression &lt;&lt; 5) | (checksum &lt;&lt; 3)</c>, an optional
/// CRC-32 of the payload, then the payload in that codec. LZ4 payloads carry a uint32 LE uncompressed length.
/// </summary>
public static class ValueEnvelope
{
    private const int ChecksumFlag = 1;

    /// <summary>Largest compression buffer taken from the shared pool (a 64³ block of uint64 needs about 2 MiB).</summary>
    private const int MaxPooledBuffer = 4 << 20;

    /// <summary>Wraps <paramref name="data"/> in the envelope, compressing it with <paramref name="spec"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data, CompressionSpec spec, bool checksum = false)
    {
        if (data.IsEmpty) return Array.Empty<byte>();
        byte header = (byte)(((int)spec.Kind << 5) | (checksum ? ChecksumFlag << 3 : 0));
        int prefix = 1 + (checksum ? 4 : 0);
        byte[] result;
        switch (spec.Kind)
        {
            case CompressionKind.None:
                result = new byte[prefix + data.Length];
                data.CopyTo(result.AsSpan(prefix));
                break;
            case CompressionKind.Lz4:
            {
                // Compress into a worst-case buffer, then copy once into the exact-size result. Block-sized buffers
                // are pooled (a fresh large-object array per block cost as much as the compression itself); huge
                // values are not, or the pool would keep their buffers for good.
                int worst = Lz4Block.MaxEncodedLength(data.Length);
                bool pooled = worst <= MaxPooledBuffer;
                var block = pooled ? System.Buffers.ArrayPool<byte>.Shared.Rent(worst) : GC.AllocateUninitializedArray<byte>(worst);
                try
                {
                    int n = Lz4Block.EncodeInto(data, block);
                    result = GC.AllocateUninitializedArray<byte>(prefix + 4 + n);
                    BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(prefix), (uint)data.Length);
                    block.AsSpan(0, n).CopyTo(result.AsSpan(prefix + 4));
                }
                finally
                {
                    if (pooled) System.Buffers.ArrayPool<byte>.Shared.Return(block);
                }
                break;
            }
            case CompressionKind.Gzip:
                result = Prefixed(prefix, GzipCodec.Compress(data, spec.Level));
                break;
            case CompressionKind.Zstd:
                result = Prefixed(prefix, ZstdCodec.Compress(data, spec.Level));
                break;
            default:
                throw new NotSupportedException($"{spec.Kind} values are encoded by their data type, not the envelope");
        }
        result[0] = header;
        if (checksum)
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(1), Crc32.Compute(result.AsSpan(prefix)));
        return result;
    }

    private static byte[] Prefixed(int prefix, byte[] payload)
    {
        var r = new byte[prefix + payload.Length];
        payload.CopyTo(r.AsSpan(prefix));
        return r;
    }

    /// <summary>The codec recorded in an envelope's header byte.</summary>
    public static CompressionKind KindOf(ReadOnlySpan<byte> stored) => stored.IsEmpty ? CompressionKind.None : (CompressionKind)(stored[0] >> 5);

    /// <summary>The payload of an envelope without header and checksum (still compressed).</summary>
    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> stored) => stored[PayloadOffset(stored)..];

    /// <summary>Where an envelope's payload starts (after the header byte and any checksum).</summary>
    public static int PayloadOffset(ReadOnlySpan<byte> stored)
        => stored.IsEmpty ? 0 : ((stored[0] >> 3) & 3) == ChecksumFlag ? 5 : 1;

    /// <summary>Unwraps and decompresses an envelope.</summary>
    /// <exception cref="InvalidDataException">Corrupt data or checksum mismatch.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> stored)
    {
        if (stored.IsEmpty) return Array.Empty<byte>();
        var kind = (CompressionKind)(stored[0] >> 5);
        bool checksum = ((stored[0] >> 3) & 3) == ChecksumFlag;
        var payload = stored[(checksum ? 5 : 1)..];
        if (checksum && BinaryPrimitives.ReadUInt32LittleEndian(stored[1..]) != Crc32.Compute(payload))
            throw new InvalidDataException("stored value failed its CRC-32 check");
        switch (kind)
        {
            case CompressionKind.None:
                return payload.ToArray();
            case CompressionKind.Lz4:
            {
                int n = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload);
                if (n == 0) return payload[4..].ToArray(); // legacy: length 0 means the payload is raw
                var output = GC.AllocateUninitializedArray<byte>(n);
                Lz4Block.Decode(payload[4..], output);
                return output;
            }
            case CompressionKind.Gzip:
                return GzipCodec.Decompress(payload);
            case CompressionKind.Zstd:
                return ZstdCodec.Decompress(payload);
            default:
                throw new InvalidDataException($"stored value uses codec {kind}, which this reader cannot decode");
        }
    }
}

/// <summary>Decoding of stored values straight into a caller's buffer (hot paths: volume blocks).</summary>
public static class ValueEnvelopeInto
{
    /// <summary>Decodes an envelope into <paramref name="destination"/>, which must be exactly the decoded size.</summary>
    /// <exception cref="InvalidDataException">Corrupt, of another size, or a codec that needs its data type (JPEG).</exception>
    public static void Decode(ReadOnlySpan<byte> stored, Span<byte> destination)
    {
        if (stored.IsEmpty)
        {
            if (!destination.IsEmpty) throw new InvalidDataException($"empty stored value, expected {destination.Length} bytes");
            return;
        }
        var kind = ValueEnvelope.KindOf(stored);
        var payload = ValueEnvelope.Payload(stored);
        switch (kind)
        {
            case CompressionKind.None:
                if (payload.Length != destination.Length) throw SizeMismatch(payload.Length, destination.Length);
                payload.CopyTo(destination);
                return;
            case CompressionKind.Lz4:
            {
                int n = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload);
                if (n != destination.Length) throw SizeMismatch(n, destination.Length);
                Lz4Block.Decode(payload[4..], destination);
                return;
            }
            case CompressionKind.Zstd:
            {
                using var d = new ZstdSharp.Decompressor();
                int n;
                try { n = d.Unwrap(payload, destination); }
                catch (ZstdSharp.ZstdException e) { throw new InvalidDataException($"zstd data does not decode: {e.Message}", e); }
                if (n != destination.Length) throw SizeMismatch(n, destination.Length);
                return;
            }
            default:
            {
                var all = ValueEnvelope.Decode(stored);
                if (all.Length != destination.Length) throw SizeMismatch(all.Length, destination.Length);
                all.CopyTo(destination);
                return;
            }
        }
    }

    /// <summary>The decoded size an envelope declares (none, LZ4), or -1 when only decoding tells (gzip, zstd).</summary>
    public static int DeclaredLength(ReadOnlySpan<byte> stored)
    {
        if (stored.IsEmpty) return 0;
        var payload = ValueEnvelope.Payload(stored);
        return ValueEnvelope.KindOf(stored) switch
        {
            CompressionKind.None => payload.Length,
            CompressionKind.Lz4 when payload.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(payload) is var n && n > 0 && n <= int.MaxValue => (int)n,
            _ => -1,
        };
    }

    private static InvalidDataException SizeMismatch(int got, int expected) => new($"stored value decodes to {got} bytes, expected {expected}");
}

/// <summary>gzip (RFC 1952) streams.</summary>
public static class GzipCodec
{
    public static byte[] Compress(ReadOnlySpan<byte> data, int level = -1)
    {
        using var ms = new MemoryStream(data.Length / 2 + 64);
        using (var gz = level > 0
                   ? new GZipStream(ms, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true)
                   : new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            gz.Write(data);
        return ms.ToArray();
    }

    /// <exception cref="InvalidDataException">Not a valid gzip stream, or it inflates past <paramref name="maxBytes"/>.</exception>
    public static byte[] Decompress(ReadOnlySpan<byte> data, long maxBytes = int.MaxValue)
    {
        try
        {
            using var input = new MemoryStream(data.ToArray(), writable: false);
            using var gz = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = gz.Read(buffer)) > 0)
            {
                if (output.Length + n > maxBytes)
                    throw new InvalidDataException($"gzip data inflates to more than {maxBytes} bytes");
                output.Write(buffer, 0, n);
            }
            return output.ToArray();
        }
        catch (InvalidDataException) { throw; }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            throw new InvalidDataException($"gzip data does not inflate: {e.Message}", e);
        }
    }
}

/// <summary>Zstandard frames.</summary>
public static class ZstdCodec
{
    public static byte[] Compress(ReadOnlySpan<byte> data, int level = -1)
    {
        using var c = new ZstdSharp.Compressor(level > 0 ? level : 3);
        return c.Wrap(data).ToArray();
    }

    public static byte[] Decompress(ReadOnlySpan<byte> data)
    {
        try
        {
            using var d = new ZstdSharp.Decompressor();
            return d.Unwrap(data).ToArray();
        }
        catch (ZstdSharp.ZstdException e)
        {
            throw new InvalidDataException($"zstd data does not decode: {e.Message}", e);
        }
    }
}
