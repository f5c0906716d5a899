using System.Buffers.Binary;
using System.Text.Json;
using Diced.Client;
using Diced.Codecs;
using Diced.Datastore.Geometry;

namespace Diced.Cli;

/// <summary>
/// A zarr array in a directory, 1 to 8 dimensions of unsigned integers in C order: v2 (<c>.zarray</c>) with chunks
/// compressed with Blosc (LZ4, zlib, zstd; byte shuffle), zlib, gzip, zstd or LZ4 (numcodecs' framing), or not at all;
/// v3 (<c>zarr.json</c>, see <see cref="ZarrV3"/>), sharded or not. Missing chunks read as the array's fill value.
/// zarr's C order lists the slowest dimension first; this source turns it around (x first).
/// </summary>
internal sealed class ZarrSource : INdSource
{
    private readonly string _dir;
    private readonly Func<int[], string> _key;
    private readonly int[] _chunksDvid;
    private readonly int _bpe;
    private readonly bool _bigEndian;
    private readonly string? _compressor;
    private readonly byte[] _fillChunk;
    private readonly ZarrShards? _shards;

    private ZarrSource(string dir, int[] shape, int[] chunks, int bpe, bool bigEndian, string? compressor, Func<int[], string> key, byte[] fill, ZarrShards? shards)
    {
        (_dir, _bpe, _bigEndian, _compressor, _key, _shards) = (dir, bpe, bigEndian, compressor, key, shards);
        Shape = shape.Reverse().ToArray();
        _chunksDvid = chunks.Reverse().ToArray();
        _fillChunk = new byte[chunks.Aggregate(bpe, (a, b) => checked(a * b))];
        for (int i = 0; i < _fillChunk.Length; i += bpe) fill.CopyTo(_fillChunk, i);
    }

    public int[] Shape { get; }

    public static bool Names(string input) => File.Exists(Path.Combine(input, ".zarray")) || File.Exists(Path.Combine(input, "zarr.json"));

    public static ZarrSource Open(string dir, int bpe)
    {
        if (!File.Exists(Path.Combine(dir, ".zarray"))) return ZarrV3.Open(dir, bpe);
        var meta = ReadMetadata(dir, ".zarray");
        string Bad(string what) => throw new DicedException($"{dir}: {what}");
        int[] Ints(string name) => PositiveInts(meta, name, dir, ".zarray");
        var shape = Ints("shape");
        var chunks = Ints("chunks");
        if (shape.Length is < 1 or > 8) Bad($"the array has {shape.Length} dimensions; ingest takes 1 to 8");
        if (chunks.Length != shape.Length) Bad("chunks and shape differ in length");
        var dtype = meta.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : Bad("no dtype");
        if (dtype.Length < 3 || dtype[1] != 'u' || !int.TryParse(dtype[2..], out int size) || size is not (1 or 2 or 4 or 8))
            Bad($"dtype {dtype} is not an unsigned integer; Diced arrays hold uint8, uint16, uint32 or uint64");
        if (size != bpe) Bad($"dtype {dtype} holds {size * 8}-bit integers; the ingest was given --dtype of {bpe * 8} bits");
        if (meta.TryGetProperty("order", out var order) && order.GetString() != "C") Bad("only C-order arrays can be ingested");
        if (meta.TryGetProperty("filters", out var filters) && filters.ValueKind == JsonValueKind.Array && filters.GetArrayLength() > 0)
            Bad("arrays with filters cannot be ingested");
        string? compressor = null;
        if (meta.TryGetProperty("compressor", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            compressor = c.GetProperty("id").GetString();
            if (compressor is not ("blosc" or "zlib" or "gzip" or "zstd" or "lz4")) Bad($"compressor {compressor} is not supported (blosc, zlib, gzip, zstd, lz4 are)");
        }
        var separator = meta.TryGetProperty("dimension_separator", out var s) && s.GetString() == "/" ? "/" : ".";
        return new ZarrSource(dir, shape, chunks, bpe, dtype[0] == '>', compressor, index => string.Join(separator, index), FillValue(meta, bpe), null);
    }

    /// <summary>A zarr metadata file's JSON.</summary>
    internal static JsonElement ReadMetadata(string dir, string file)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, file))).RootElement; }
        catch (JsonException e) { throw new DicedException($"{dir}/{file} is not valid JSON: {e.Message}"); }
    }

    /// <summary>A metadata array of positive integers (shape, chunk shape).</summary>
    internal static int[] PositiveInts(JsonElement parent, string name, string dir, string file)
    {
        if (!parent.TryGetProperty(name, out var a) || a.ValueKind != JsonValueKind.Array) throw new DicedException($"{dir}: {file} has no {name}");
        return a.EnumerateArray().Select(e => e.TryGetInt32(out var v) && v > 0 ? v : throw new DicedException($"{dir}: {name} must hold positive integers")).ToArray();
    }

    /// <summary>A zarr array read through the same chunk reader (zarr v3 metadata is parsed by <see cref="ZarrV3"/>).</summary>
    /// <param name="chunks">The chunks elements are decoded in: a sharded array's inner chunks, read from the shard
    /// files <paramref name="key"/> names for the outer grid.</param>
    internal static ZarrSource Create(string dir, int[] shape, int[] chunks, int bpe, bool bigEndian, string? compressor, Func<int[], string> key, byte[] fill,
        ZarrShards? shards = null)
        => new(dir, shape, chunks, bpe, bigEndian, compressor, key, fill, shards);

    /// <summary>The array's fill value as <paramref name="bpe"/> little-endian bytes (0 when absent or not an integer).</summary>
    internal static byte[] FillValue(JsonElement meta, int bpe)
    {
        var fill = new byte[bpe];
        if (meta.TryGetProperty("fill_value", out var f) && f.ValueKind == JsonValueKind.Number && f.TryGetUInt64(out var fv))
        {
            var all = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(all, fv);
            all.AsSpan(0, bpe).CopyTo(fill);
        }
        return fill;
    }

    public void Read(int[] at, int[] size, Span<byte> dest)
    {
        var box = new NdBox(at, size);
        foreach (var chunk in box.Chunks(_chunksDvid))
        {
            var chunkBox = NdBox.OfChunk(chunk, _chunksDvid);
            var data = LoadChunk(chunk.Reverse().ToArray()) ?? _fillChunk;
            NdBox.Copy(data, chunkBox, dest, box, chunkBox.Intersect(box)!, _bpe);
        }
    }

    /// <summary>A chunk's elements (C-order chunk index), little-endian, or null when the chunk is not stored.</summary>
    private byte[]? LoadChunk(int[] index)
    {
        string path;
        byte[]? stored;
        if (_shards is null)
        {
            path = Path.Combine(_dir, _key(index).Replace('/', Path.DirectorySeparatorChar));
            stored = File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        else (path, stored) = _shards.Read(index, shard => Path.Combine(_dir, _key(shard).Replace('/', Path.DirectorySeparatorChar)));
        if (stored is null) return null;
        int expected = _fillChunk.Length;
        byte[] data;
        try
        {
            data = _compressor switch
            {
                null => stored,
                "blosc" => BloscFrame.Decode(stored),
                "zlib" => Inflate(new System.IO.Compression.ZLibStream(new MemoryStream(stored), System.IO.Compression.CompressionMode.Decompress), expected),
                "gzip" => GzipCodec.Decompress(stored, expected),
                "zstd" => ZstdCodec.Decompress(stored),
                _ => Lz4Numcodecs(stored),
            };
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DicedException($"chunk {path} does not decode with {_compressor}: {e.Message}");
        }
        if (data.Length != expected) throw new DicedException($"chunk {path} holds {data.Length} bytes, expected {expected}");
        if (_bigEndian && _bpe > 1)
            for (int i = 0; i < data.Length; i += _bpe) data.AsSpan(i, _bpe).Reverse();
        return data;
    }

    private static byte[] Inflate(Stream z, int expected)
    {
        using (z)
        {
            var output = new byte[expected];
            int read = 0, n;
            while (read < expected && (n = z.Read(output, read, expected - read)) > 0) read += n;
            return read == expected ? output : output[..read];
        }
    }

    /// <summary>numcodecs' LZ4: the decoded size (little-endian int32), then one raw LZ4 block.</summary>
    private static byte[] Lz4Numcodecs(byte[] stored)
    {
        if (stored.Length < 4) throw new InvalidDataException("LZ4 chunk is shorter than its size header");
        var output = new byte[BinaryPrimitives.ReadInt32LittleEndian(stored)];
        Lz4Block.Decode(stored.AsSpan(4), output);
        return output;
    }
}
