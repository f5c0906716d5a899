using System.Text.Json;
using Diced.Client;

namespace Diced.Cli;

/// <summary>
/// zarr v3 array metadata (<c>zarr.json</c>): a regular chunk grid, the <c>default</c> (<c>c/0/0/0</c>) or <c>v2</c> chunk
/// key encoding, and a codec pipeline of <c>bytes</c> (either endianness) followed by at most one of <c>gzip</c>,
/// <c>zstd</c> or <c>blosc</c>, or one <c>sharding_indexed</c> codec whose inner chunks use such a pipeline (index
/// little-endian, with or without <c>crc32c</c>, at the end or the start). Other codecs are refused by name.
/// </summary>
internal static class ZarrV3
{
    public static ZarrSource Open(string dir, int bpe)
    {
        var meta = ZarrSource.ReadMetadata(dir, "zarr.json");
        string Bad(string what) => throw new DicedException($"{dir}: {what}");
        if (!meta.TryGetProperty("zarr_format", out var format) || format.ValueKind != JsonValueKind.Number || format.GetInt32() != 3) Bad("zarr.json is not zarr_format 3");
        if (meta.TryGetProperty("node_type", out var node) && node.GetString() != "array") Bad($"is a zarr {node.GetString()}, not an array");
        var shape = ZarrSource.PositiveInts(meta, "shape", dir, "zarr.json");
        if (shape.Length is < 1 or > 8) Bad($"the array has {shape.Length} dimensions; ingest takes 1 to 8");
        var grid = meta.TryGetProperty("chunk_grid", out var g) ? g : default;
        if (grid.ValueKind != JsonValueKind.Object || grid.GetProperty("name").GetString() != "regular") Bad("only regular chunk grids are read");
        var chunks = ZarrSource.PositiveInts(grid.GetProperty("configuration"), "chunk_shape", dir, "zarr.json");
        if (chunks.Length != shape.Length) Bad("chunk_shape and shape differ in length");
        var type = meta.TryGetProperty("data_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : Bad("no data_type");
        int size = type switch
        {
            "uint8" => 1, "uint16" => 2, "uint32" => 4, "uint64" => 8,
            _ => throw new DicedException($"{dir}: data_type {type} is not an unsigned integer; Diced arrays hold uint8, uint16, uint32 or uint64"),
        };
        if (size != bpe) Bad($"data_type {type} holds {size * 8}-bit integers; the ingest was given --dtype of {bpe * 8} bits");

        var codecs = meta.TryGetProperty("codecs", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().ToList() : [];
        ZarrShards? shards = null;
        if (codecs.Count == 1 && codecs[0].GetProperty("name").GetString() == "sharding_indexed")
        {
            var cfg = codecs[0].TryGetProperty("configuration", out var sc) ? sc : Bad<JsonElement>("sharding_indexed has no configuration");
            var inner = ZarrSource.PositiveInts(cfg, "chunk_shape", dir, "zarr.json");
            if (inner.Length != shape.Length || inner.Where((n, d) => chunks[d] % n != 0).Any())
                Bad($"the shards' chunk_shape {string.Join(",", inner)} does not divide the shard shape {string.Join(",", chunks)}");
            var perShard = chunks.Select((n, d) => n / inner[d]).ToArray();
            var index = cfg.TryGetProperty("index_codecs", out var ic) ? ic.EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList() : ["bytes", "crc32c"];
            var endian = cfg.TryGetProperty("index_codecs", out ic) && ic[0].TryGetProperty("configuration", out var icc) && icc.TryGetProperty("endian", out var ie) ? ie.GetString() : "little";
            if (index.Count is < 1 or > 2 || index[0] != "bytes" || endian != "little" || (index.Count == 2 && index[1] != "crc32c"))
                Bad($"shard index codecs {string.Join(", ", index)} are not supported (little-endian bytes, then crc32c or nothing, are)");
            var location = cfg.TryGetProperty("index_location", out var il) ? il.GetString() : "end";
            if (location is not ("end" or "start")) Bad($"shard index_location {location} is not end or start");
            shards = new ZarrShards(perShard, location == "end", index.Count == 2);
            codecs = cfg.TryGetProperty("codecs", out var innerCodecs) ? innerCodecs.EnumerateArray().ToList() : [];
            chunks = inner;
        }
        var (bigEndian, compressor) = Pipeline(codecs, dir);

        var encoding = meta.TryGetProperty("chunk_key_encoding", out var k) ? k : default;
        string kind = encoding.ValueKind == JsonValueKind.Object ? encoding.GetProperty("name").GetString()! : "default";
        string? separator = encoding.ValueKind == JsonValueKind.Object && encoding.TryGetProperty("configuration", out var kc)
            && kc.TryGetProperty("separator", out var sep) ? sep.GetString() : null;
        Func<int[], string> key = kind switch
        {
            "default" => index => "c" + (separator ?? "/") + string.Join(separator ?? "/", index),
            "v2" => index => string.Join(separator ?? ".", index),
            _ => throw new DicedException($"{dir}: chunk key encoding {kind} is not supported"),
        };
        return ZarrSource.Create(dir, shape, chunks, bpe, bigEndian, compressor, key, ZarrSource.FillValue(meta, bpe), shards);
    }

    private static T Bad<T>(string what) => throw new DicedException(what);

    /// <summary>A chunk codec pipeline: <c>bytes</c> (either endianness), then at most one of gzip, zstd or blosc.</summary>
    private static (bool BigEndian, string? Compressor) Pipeline(List<JsonElement> codecs, string dir)
    {
        bool bigEndian = false;
        string? compressor = null;
        for (int i = 0; i < codecs.Count; i++)
        {
            var name = codecs[i].GetProperty("name").GetString();
            switch (name)
            {
                case "bytes" when i == 0:
                    bigEndian = codecs[i].TryGetProperty("configuration", out var cfg) && cfg.TryGetProperty("endian", out var e) && e.GetString() == "big";
                    break;
                case "gzip" or "zstd" or "blosc" when i == 1 && compressor is null:
                    compressor = name;
                    break;
                case "sharding_indexed":
                    throw new DicedException($"{dir}: sharding_indexed must be the array's only codec (nested sharding is not read)");
                default:
                    throw new DicedException($"{dir}: codec {name} at position {i} is not supported (bytes, then gzip, zstd or blosc, are)");
            }
        }
        if (codecs.Count == 0 || codecs[0].GetProperty("name").GetString() != "bytes") throw new DicedException($"{dir}: the codecs do not start with bytes");
        return (bigEndian, compressor);
    }
}
