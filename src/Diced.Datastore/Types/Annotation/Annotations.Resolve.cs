using System.Buffers.Binary;
using System.Text;
using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Labelsz;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Annotation;

/// <summary>
/// Settling a resolve: the records a resolve took by priority from different parents (a block from one, a label or tag
/// record from another) are made to agree again, as <c>reload</c> would, but only where the parents changed something.
/// </summary>
public sealed partial class Annotations
{
    /// <summary>
    /// Called on the resolve's child (not yet published, so no turn is taken) after the winners were written.
    /// <paramref name="changed"/> holds every key of this instance any of <paramref name="parents"/> changed since
    /// their common ancestors, <paramref name="changedCounts"/> the labels whose labelsz counts any parent changed.
    /// In one commit: elements in changed blocks are labelled from the child's labels; the tag records of changed tags
    /// and of those elements' tags, and (when synced) the label records of changed bodies and of those elements' bodies,
    /// are rebuilt from the child's block records, candidates being every position any parent or the child listed; the
    /// synced labelsz counts of every such body are recounted from the child's label records, stale rank keys of all
    /// parents removed.
    /// </summary>
    internal Task SettleResolveAsync(IReadOnlyList<Annotations> parents, IReadOnlyCollection<byte[]> changed, IReadOnlySet<ulong> changedCounts, CancellationToken ct)
        => _data.WriteAsync(async tx =>
        {
            bool synced = Labels is not null;
            var bodyOf = await BodyOfAsync(ct);
            var labels = new HashSet<ulong>(changedCounts);
            var tags = new HashSet<string>(StringComparer.Ordinal);
            var blocks = new Dictionary<Point3, Dictionary<ElementPos, StoredElement>>();
            foreach (var key in changed)
            {
                if (key.Length == 9 && key[0] == LabelClass) labels.Add(BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(1)));
                else if (key.Length > 0 && key[0] == TagClass) tags.Add(Encoding.UTF8.GetString(key.AsSpan(1)));
                else if (key.Length == 13 && key[0] == BlockClass) await RelabelBlockAsync(tx, Point3.ReadZyxIndex(key.AsSpan(1)), blocks, ct);
            }
            // Every element of the blocks read so far, by body and by tag: with the positions the records list, the
            // candidates of each rebuilt record.
            var byBody = new Dictionary<ulong, List<ElementPos>>();
            var byTag = new Dictionary<string, List<ElementPos>>(StringComparer.Ordinal);
            void Bucket(StoredElement s)
            {
                if (synced && bodyOf(s.Supervoxel) is var body and not 0) Add(byBody, body, s.Element.Pos);
                foreach (var t in s.Element.Tags) Add(byTag, t, s.Element.Pos);
            }
            foreach (var s in blocks.Values.SelectMany(b => b.Values)) Bucket(s);
            labels.UnionWith(byBody.Keys);
            tags.UnionWith(byTag.Keys);

            async Task<StoredElement?> At(ElementPos pos)
            {
                var b = BlockOf(pos);
                if (!blocks.TryGetValue(b, out var inBlock))
                {
                    inBlock = [];
                    if (await tx.GetAsync(BlockKey(b), ct) is { } r)
                        foreach (var s in ElementRecords.DecodeBlock(r)) { inBlock[s.Element.Pos] = s; Bucket(s); }
                    blocks[b] = inBlock;
                }
                return inBlock.GetValueOrDefault(pos);
            }
            async Task Rebuild(byte[] key, List<ElementPos>? bucket, Func<StoredElement, IndexEntry?> entryOf)
            {
                var candidates = new HashSet<ElementPos>(bucket ?? []);
                foreach (var at in parents.Select(p => p._data).Append(_data))
                    if (await at.GetAsync(key, ct) is { } record) candidates.UnionWith(ElementRecords.DecodeIndex(record).Select(e => e.Pos));
                var entries = new List<IndexEntry>();
                foreach (var pos in candidates)
                    if (await At(pos) is { } s && entryOf(s) is { } e) entries.Add(e);
                entries.Sort((a, b) => ElementPos.CompareZyx(a.Pos, b.Pos));
                if (entries.Count > 0) tx.Put(key, ElementRecords.EncodeIndex(entries));
                else tx.Delete(key);
            }

            if (synced)
                foreach (var label in labels)
                    await Rebuild(LabelKey(label), byBody.GetValueOrDefault(label), s => bodyOf(s.Supervoxel) == label ? new IndexEntry(s.Element.Pos, s.Element.Kind, s.Supervoxel) : null);
            foreach (var tag in tags)
                await Rebuild(TagKey(tag), byTag.GetValueOrDefault(tag), s => s.Element.Tags.Contains(tag) ? new IndexEntry(s.Element.Pos, ElementKind.Unknown, 0) : null);
            foreach (var sizes in Sizes)
            {
                var atParents = parents.Select(p => p.Sizes.First(s => s.Data.Instance.Name == sizes.Data.Instance.Name)).ToList();
                var stx = tx.Join(sizes.Data, sizes.Stamp);
                foreach (var label in labels.Where(l => l != 0))
                {
                    var record = await tx.GetAsync(LabelKey(label), ct);
                    await sizes.RecountAsync(stx, label, record is null ? [] : ElementRecords.DecodeIndex(record), atParents, ct);
                }
            }
            return 0;
        }, ct, Stamp);

    private static void Add<TKey>(Dictionary<TKey, List<ElementPos>> map, TKey key, ElementPos pos) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = [];
        list.Add(pos);
    }

    /// <summary>Labels the elements of <paramref name="block"/> from the child's labels (when synced), rewriting its record if any changed, and keeps them in <paramref name="blocks"/>.</summary>
    private async Task RelabelBlockAsync(Transaction tx, Point3 block, Dictionary<Point3, Dictionary<ElementPos, StoredElement>> blocks, CancellationToken ct)
    {
        var inBlock = blocks[block] = [];
        if (await tx.GetAsync(BlockKey(block), ct) is not { } record) return;
        var list = ElementRecords.DecodeBlock(record);
        if (Labels is not null) await RelabelAsync(tx, BlockKey(block), list, ct);
        foreach (var s in list) inBlock[s.Element.Pos] = s;
    }
}
