using System.Collections.Immutable;
using Diced.Codecs;

namespace Diced.Datastore.Types;

/// <summary>A compiled data type (keyvalue, uint8blk, labelmap…): its identity, help, and settings rules.</summary>
public abstract class DataType
{
    /// <summary>DVID's type name, e.g. <c>keyvalue</c>.</summary>
    public abstract string Name { get; }

    /// <summary>DVID's type URL, reported in <c>Base.TypeURL</c> and <c>/api/server/types</c>.</summary>
    public abstract string Url { get; }

    public abstract string Version { get; }

    /// <summary>Plain-text help served at <c>/api/help/{type}</c>.</summary>
    public abstract string Help { get; }

    public virtual CompressionSpec DefaultCompression => CompressionSpec.Lz4;

    /// <summary>Whether values of this type may be stored with <paramref name="kind"/>.</summary>
    public virtual bool Supports(CompressionKind kind) => kind is CompressionKind.None or CompressionKind.Lz4 or CompressionKind.Gzip or CompressionKind.Zstd;

    /// <summary>Types an instance of this type may be synced with (<c>POST …/sync</c>); empty when it keeps no syncs.</summary>
    public virtual IReadOnlySet<string> SyncsWith => ImmutableHashSet<string>.Empty;

    /// <summary>
    /// Validates the type-specific part of a creation config and returns the settings to persist.
    /// Throws <see cref="DatastoreException"/> for bad values.
    /// </summary>
    public virtual ImmutableSortedDictionary<string, string> NormalizeSettings(IReadOnlyDictionary<string, string> config, CompressionSpec compression)
        => ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Whether a diff lists changes of this key (not of internal records such as mutation logs).</summary>
    public virtual bool ShowsInDiff(ReadOnlySpan<byte> tkey) => true;

    /// <summary>A stored type key as people name it (a key, a block coordinate, a label), for diffs and merge conflicts.</summary>
    public virtual string DescribeKey(ReadOnlySpan<byte> tkey) => Convert.ToHexStringLower(tkey);

    /// <summary>
    /// The value a merge gives a record several parents changed, when the type knows how to combine them (extents:
    /// their union; a max label: the largest), or null when the change is a conflict. Null values are deletions.
    /// </summary>
    public virtual byte[]? MergeValues(ReadOnlySpan<byte> tkey, IReadOnlyList<byte[]?> values) => null;
}

/// <summary>How the block-stored types name and merge their keys.</summary>
public static class BlockKeys
{
    /// <summary><c>block x,y,z</c> for a z-y-x block index key of any block class.</summary>
    public static string Block(ReadOnlySpan<byte> tkey)
    {
        if (tkey.Length != 13) return Convert.ToHexStringLower(tkey);
        var p = Geometry.Point3.ReadZyxIndex(tkey[1..]);
        return $"block {p.X},{p.Y},{p.Z}";
    }

    /// <summary>The union of JSON extents records (<c>{"MinPoint": [...], "MaxPoint": [...]}</c>, any rank).</summary>
    public static byte[]? UnionOfExtents(IReadOnlyList<byte[]?> values)
    {
        int[]? lo = null, hi = null;
        foreach (var v in values)
        {
            if (v is null) continue;
            using var doc = System.Text.Json.JsonDocument.Parse(v);
            var min = doc.RootElement.GetProperty("MinPoint").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var max = doc.RootElement.GetProperty("MaxPoint").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            lo = lo is null ? min : lo.Zip(min, Math.Min).ToArray();
            hi = hi is null ? max : hi.Zip(max, Math.Max).ToArray();
        }
        return lo is null ? null : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { MinPoint = lo, MaxPoint = hi });
    }
}

/// <summary>The data types this server can create, by name.</summary>
public sealed class DataTypeRegistry
{
    private readonly Dictionary<string, DataType> _types = new(StringComparer.Ordinal);

    public DataTypeRegistry(IEnumerable<DataType> types)
    {
        foreach (var t in types) _types[t.Name] = t;
    }

    /// <summary>Every type compiled into this server.</summary>
    public static DataTypeRegistry Default() => new([
        new KeyValue.KeyValueType(),
        .. Enum.GetValues<ImageBlock.VoxelType>().Select(v => new ImageBlock.ImageBlockType(v)),
        new Roi.RoiType(),
        .. Enum.GetValues<Labels.LabelKind>().Select(k => new Labels.LabelType(k)),
        new Labelvol.LabelvolType(),
        new Annotation.AnnotationType(),
        new Labelsz.LabelszType(),
        new Tarsupervoxels.TarsupervoxelsType(),
        new Neuronjson.NeuronjsonType(),
        new NdArray.NdArrayType(),
    ]);

    public IEnumerable<DataType> All => _types.Values.OrderBy(t => t.Name, StringComparer.Ordinal);

    public DataType? Find(string name) => _types.GetValueOrDefault(name);

    public DataType Get(string name) => _types[name];
}
