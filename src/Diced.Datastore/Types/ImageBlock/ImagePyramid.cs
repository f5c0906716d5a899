using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.ImageBlock;

/// <summary>
/// The coarser levels of an image instance (<c>MaxDownresLevel</c> N): level k halves level k-1 along every axis by
/// the 2×2×2 mean, in blocks of the same size and codec. Every write of level 0 recomputes, in its own commit, the
/// parents of the blocks it changed at each level, under locks taken together with the written blocks' (so concurrent
/// writers serialise on shared parents and never lose each other's means). Levels are served as the virtual instances
/// <c>{name}_1</c> … <c>{name}_N</c> that Neuroglancer's <c>dvid://</c> source looks for.
/// </summary>
public sealed class ImagePyramid
{
    /// <summary>The instance setting that keeps levels 1..N (shared with the label types).</summary>
    public const string MaxDownresKey = Labels.LabelType.MaxDownresKey;

    /// <summary>Set on the settings of a level's virtual instance: which level it serves.</summary>
    public const string LevelKey = "pyramidlevel";

    public const int MaxLevels = 10;

    /// <summary>Parents recomputed per commit when levels are rebuilt.</summary>
    public const int RebuildBatch = 64;

    private readonly ImageVolume _base;
    private readonly ImageVolume[] _levels;

    public ImagePyramid(ImageVolume level0, int maxLevel)
    {
        _base = level0;
        MaxLevel = maxLevel;
        _levels = Enumerable.Range(0, maxLevel + 1).Select(k => k == 0 ? level0 : LevelOf(level0, k)).ToArray();
    }

    public int MaxLevel { get; }

    /// <summary>Block key class of level <paramref name="level"/> ≥ 1.</summary>
    public static byte LevelClass(int level) => (byte)(0x40 + level);

    /// <summary>Level <paramref name="level"/> of <paramref name="level0"/> as a volume of its own (reads; writes come from level 0).</summary>
    public static ImageVolume LevelOf(ImageVolume level0, int level)
        => new(level0.Data, level0.Coordination, level0.Voxel, level0.Codec, LevelClass(level), level0.Settings) { PyramidLevel = level };

    /// <summary>The pyramid level a (virtual) instance serves: 0 for real instances.</summary>
    public static int LevelOf(InstanceRecord inst)
        => inst.Settings.TryGetValue(LevelKey, out var l) ? int.Parse(l, CultureInfo.InvariantCulture) : 0;

    /// <summary>Levels an image instance keeps (0 when it has no pyramid).</summary>
    public static int MaxLevelOf(InstanceRecord inst)
        => inst.Settings.TryGetValue(MaxDownresKey, out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 0;

    /// <summary>
    /// The virtual instances <c>{name}_1</c> … <c>{name}_N</c> of an image instance with a pyramid: the base's record
    /// (same data) named for the level, with its level and voxel size. Names taken by real instances are skipped.
    /// </summary>
    public static IEnumerable<InstanceRecord> LevelInstances(InstanceRecord inst, IReadOnlyDictionary<string, InstanceRecord> all)
    {
        int n = MaxLevelOf(inst);
        if (n == 0 || LevelOf(inst) != 0 || !ImageBlockType.IsImageType(inst.TypeName)) yield break;
        var voxel = ImageSettings.ParseFloats(inst.Settings[ImageSettings.VoxelSizeKey], "VoxelSize");
        for (int k = 1; k <= n; k++)
        {
            var name = $"{inst.Name}_{k}";
            if (all.ContainsKey(name)) continue;
            var settings = inst.Settings.SetItem(LevelKey, k.ToString(CultureInfo.InvariantCulture)).SetItem(MaxDownresKey, "0")
                .SetItem(ImageSettings.VoxelSizeKey, ImageSettings.FormatFloats(voxel.Select(v => v * (1 << k))));
            var tags = (inst.Tags ?? ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal)).SetItem("pyramid", $"level {k} of {inst.Name}, kept current from its writes");
            yield return inst with { Name = name, DataUuid = Uuids.Derived(inst.DataUuid, $"_{k}"), Settings = settings, Tags = tags };
        }
    }

    /// <summary>The base name and level of <paramref name="name"/> when it names a level of an image instance here.</summary>
    public static InstanceRecord? FindLevelInstance(string name, IReadOnlyDictionary<string, InstanceRecord> all)
    {
        int cut = name.LastIndexOf('_');
        if (cut <= 0 || !all.TryGetValue(name[..cut], out var inst)) return null;
        return LevelInstances(inst, all).FirstOrDefault(l => l.Name == name);
    }

    /// <summary>Largest 2×2×2 group of blocks a parent is computed from (held per core while levels are computed).</summary>
    public const long MaxRegionBytes = 1L << 30;

    /// <summary>Refuses a pyramid over blocks too large to compute parents of.</summary>
    public static void CheckBlockSize(Point3 blockSize, int bytesPerVoxel)
    {
        long region = 8L * blockSize.X * blockSize.Y * blockSize.Z * bytesPerVoxel;
        if (region > MaxRegionBytes)
            throw DatastoreException.BadRequest($"blocks of {blockSize.X}x{blockSize.Y}x{blockSize.Z} are too large for a pyramid: each parent is computed from 8 blocks ({region >> 20} MiB; at most {MaxRegionBytes >> 20} MiB)");
    }

    /// <summary>Level-0 extents as the block-aligned extents of level <paramref name="level"/> (what covers them there).</summary>
    public static Extents? ScaleExtents(Extents? extents, int level, Point3 blockSize)
    {
        if (extents is null || level == 0) return extents;
        int Lo(int v, int b) => (int)Math.Floor((double)(v >> level) / b) * b;
        int Hi(int v, int b) => (int)Math.Floor((double)(v >> level) / b) * b + b - 1;
        var (min, max) = (extents.MinPoint, extents.MaxPoint);
        return new Extents(new Point3(Lo(min.X, blockSize.X), Lo(min.Y, blockSize.Y), Lo(min.Z, blockSize.Z)),
            new Point3(Hi(max.X, blockSize.X), Hi(max.Y, blockSize.Y), Hi(max.Z, blockSize.Z)));
    }

    /// <summary>
    /// Refuses a new instance (or a deeper pyramid) whose name is a level of an existing pyramid, or whose levels'
    /// names are taken: a level must always be what Neuroglancer finds under <c>{name}_{k}</c>.
    /// </summary>
    public static void CheckNames(string name, string typeName, IReadOnlyDictionary<string, string> settings, IReadOnlyDictionary<string, InstanceRecord> all)
    {
        if (FindLevelInstance(name, all) is { } level)
            throw DatastoreException.BadRequest($"Data named \"{name}\" would hide level {LevelOf(level)} of the pyramid of \"{name[..name.LastIndexOf('_')]}\"; choose another name");
        int n = ImageBlockType.IsImageType(typeName) && settings.TryGetValue(MaxDownresKey, out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 0;
        for (int k = 1; k <= n; k++)
            if (all.ContainsKey($"{name}_{k}"))
                throw DatastoreException.BadRequest($"\"{name}\" cannot keep {n} pyramid levels: level {k} would be served as \"{name}_{k}\", which is another instance");
    }

    /// <summary>The level-0 blocks and every parent above them: the locks a write of <paramref name="blocks"/> takes.</summary>
    public IEnumerable<(byte Class, Point3 Block)> LockSet(IReadOnlyCollection<Point3> blocks)
    {
        foreach (var b in blocks) yield return (ImageVolume.BlockClass, b);
        IEnumerable<Point3> current = blocks;
        for (int k = 1; k <= MaxLevel; k++)
        {
            current = Parents(current);
            foreach (var p in current) yield return (LevelClass(k), p);
        }
    }

    private static List<Point3> Parents(IEnumerable<Point3> blocks) => blocks.Select(b => new Point3(b.X >> 1, b.Y >> 1, b.Z >> 1)).Distinct().ToList();

    /// <summary>Recomputes, in the transaction, every parent above the changed level-0 blocks (the caller holds <see cref="LockSet"/>).</summary>
    public async Task UpdateAsync(Transaction tx, IReadOnlyCollection<Point3> changed, CancellationToken ct)
    {
        IEnumerable<Point3> current = changed;
        for (int k = 1; k <= MaxLevel; k++)
        {
            var parents = Parents(current);
            await RecomputeAsync(tx, k, parents, ct);
            current = parents;
        }
    }

    /// <summary>
    /// Recomputes the given blocks of level <paramref name="level"/> from level <paramref name="level"/>-1 as the
    /// store holds it, <see cref="RebuildBatch"/> parents per commit under the locks of the parents and their
    /// children (builds levels for data written before they existed; run the levels in order). Returns the blocks written.
    /// </summary>
    public async Task<int> RebuildAsync(int level, IReadOnlyList<Point3> parents, CancellationToken ct)
    {
        if (level < 1 || level > MaxLevel) throw DatastoreException.BadRequest($"level {level} is not kept: \"{_base.Data.Instance.Name}\" keeps levels 1 to {MaxLevel} (MaxDownresLevel)");
        byte below = level == 1 ? ImageVolume.BlockClass : LevelClass(level - 1);
        var distinct = parents.Distinct().ToList();
        foreach (var batch in distinct.Chunk(RebuildBatch))
        {
            var locks = batch.Select(p => (LevelClass(level), p)).Concat(batch.SelectMany(Children).Select(c => (below, c))).ToList();
            await _base.Data.WriteAsync(async tx =>
            {
                tx.Hold(await _base.Coordination.LockBlocksAsync(_base.Data.Instance.InstanceId, _base.Data.WriteVersion, locks, ct));
                await RecomputeAsync(tx, level, batch, ct);
                return 0;
            }, ct);
        }
        return distinct.Count;
    }

    private static IEnumerable<Point3> Children(Point3 p)
    {
        for (int dz = 0; dz < 2; dz++)
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    yield return new Point3(p.X * 2 + dx, p.Y * 2 + dy, p.Z * 2 + dz);
    }

    /// <summary>Each parent becomes the mean of its 2×2×2 children as the transaction sees them (missing ones read as zeros).</summary>
    private Task RecomputeAsync(Transaction tx, int level, IReadOnlyList<Point3> parents, CancellationToken ct)
    {
        var below = _levels[level - 1];
        var above = _levels[level];
        var bs = _base.BlockSize;
        int blockBytes = _base.BlockBytes;
        return Parallel.ForEachAsync(parents, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (p, token) =>
        {
            var region = ArrayPool<byte>.Shared.Rent(blockBytes * 8);
            var child = ArrayPool<byte>.Shared.Rent(blockBytes);
            try
            {
                var regionBox = new Box(new Point3(p.X * 2, p.Y * 2, p.Z * 2).BlockOrigin(bs), new Point3(bs.X * 2, bs.Y * 2, bs.Z * 2));
                foreach (var c in Children(p))
                {
                    if (!await below.TryReadBlockAsync(tx, c, child, token)) child.AsSpan(0, blockBytes).Clear();
                    var childBox = new Box(c.BlockOrigin(bs), bs);
                    ImageVolume.Copy(child, childBox, region, regionBox, childBox, _base.BytesPerVoxel);
                }
                above.PutBlock(tx, p, parent => MeanDownsampling.MeanOf2x2x2(_base.Voxel, region.AsSpan(0, blockBytes * 8), parent, bs));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(region);
                ArrayPool<byte>.Shared.Return(child);
            }
        });
    }
}
