using System.Text.Json;
using Diced.Client;

namespace Diced.Cli;

/// <summary>
/// zarr v3 array metadata (<c>zarr.json</c>): a regular chunk grid, the <c>default</c> (<c>c/0/0/0</c>) or <c>v2</c> chunk
/// key encoding, and a codec pipeline of <c>bytes</c> (either endianness) followed by at most one of <c>gzip</c>,
/// <c>zstd</c> or <c>blosc</c>. Sharded arrays (<c>sharding_indexed</c>) and other codecs are refused by name.
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
        if (shape.Length is < 2 or > 3) Bad($"the array has {shape.Length} dimensions; ingest takes 2-D and 3-D arrays");
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

        bool bigEndian = false;
        string? compressor = null;
        var codecs = meta.TryGetProperty("codecs", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().ToList() : [];
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
                    Bad("sharded zarr v3 arrays (sharding_indexed) are not read yet");
                    break;
                default:
                    Bad($"codec {name} at position {i} is not supported (bytes, then gzip, zstd or blosc, are)");
                    break;
            }
        }
        if (codecs.Count == 0 || codecs[0].GetProperty("name").GetString() != "bytes") Bad("the codecs do not start with bytes");

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
        return ZarrSource.Create(dir, shape, chunks, bpe, bigEndian, compressor, key, ZarrSource.FillValue(meta, bpe));
    }
}
