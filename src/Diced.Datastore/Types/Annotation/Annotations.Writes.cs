using System.Globalization;
using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;

namespace Diced.Datastore.Types.Annotation;

/// <summary>Changing elements: POST elements and blocks, delete, move, and label lists for unsynced instances.</summary>
public sealed partial class Annotations
{
    /// <summary>
    /// Adds elements, each replacing any element at its position (the last of several at one position wins), labelled by
    /// the synced labels; indices and counts follow in the same commit.
    /// </summary>
    public Task PostElementsAsync(IReadOnlyList<Element> elements, CancellationToken ct = default)
    {
        var posted = elements.GroupBy(e => e.Pos).Select(g => g.Last()).ToList();
        return ChangeAsync(async (tx, changes) =>
        {
            var (svs, bodyOf) = await LabelsUnderAsync(posted.Select(e => e.Pos).ToList(), ct);
            var blocks = new BlockEdits(tx);
            for (int i = 0; i < posted.Count; i++)
            {
                var e = posted[i];
                var block = BlockOf(e.Pos);
                var list = await blocks.GetAsync(block, ct);
                int at = list.FindIndex(s => s.Element.Pos == e.Pos);
                var stored = new StoredElement(e, svs[i]);
                if (at >= 0)
                {
                    changes.Unindex(list[at].Element, list[at].Supervoxel, bodyOf);
                    list[at] = stored;
                }
                else list.Add(stored);
                changes.Index(e, svs[i], bodyOf);
                blocks.Changed(block);
            }
            blocks.Flush();
            Log(tx, "element-post", new Dictionary<string, object> { ["Elements"] = posted.Count });
            return 0;
        }, ct);
    }

    /// <summary>
    /// DVID's <c>POST blocks</c>: each block's elements replace that block's record wholesale (an empty list empties it).
    /// Keys are block coordinates <c>"x,y,z"</c>; every element must lie in its block. Unlike DVID, the label and tag
    /// indices and counts follow at once (no reload needed).
    /// </summary>
    public Task<int> PostBlocksAsync(IReadOnlyList<(string Key, List<Element> Elements)> blocks, CancellationToken ct = default)
    {
        var parsed = new List<(Point3 Block, List<Element> Elements)>();
        foreach (var (key, elements) in blocks)
        {
            var block = ParseBlockKey(key);
            foreach (var e in elements)
            {
                if (BlockOf(e.Pos) != block)
                    throw DatastoreException.BadRequest($"element {e.Pos} is not in block \"{key}\" (blocks are {BlockSize.X}x{BlockSize.Y}x{BlockSize.Z} voxels)");
            }
            parsed.Add((block, elements.GroupBy(e => e.Pos).Select(g => g.Last()).ToList()));
        }
        var byBlock = parsed.GroupBy(p => p.Block).Select(g => g.Last()).ToList();
        return ChangeAsync(async (tx, changes) =>
        {
            var all = byBlock.SelectMany(b => b.Elements).ToList();
            var (svs, bodyOf) = await LabelsUnderAsync(all.Select(e => e.Pos).ToList(), ct);
            var edits = new BlockEdits(tx);
            int i = 0;
            foreach (var (block, elements) in byBlock)
            {
                var list = await edits.GetAsync(block, ct);
                foreach (var old in list) changes.Unindex(old.Element, old.Supervoxel, bodyOf);
                list.Clear();
                foreach (var e in elements)
                {
                    list.Add(new StoredElement(e, svs[i]));
                    changes.Index(e, svs[i], bodyOf);
                    i++;
                }
                edits.Changed(block);
            }
            edits.Flush();
            Log(tx, "blocks-post", new Dictionary<string, object> { ["Blocks"] = byBlock.Count });
            return byBlock.Count;
        }, ct);
    }

    /// <summary>Deletes the element at <paramref name="pos"/> and every relationship to it in its block and its partners' blocks.</summary>
    public Task DeleteElementAsync(ElementPos pos, CancellationToken ct = default)
        => ChangeAsync(async (tx, changes) =>
        {
            var edits = new BlockEdits(tx);
            var block = BlockOf(pos);
            var list = await edits.GetAsync(block, ct);
            int at = list.FindIndex(s => s.Element.Pos == pos);
            if (at < 0) throw DatastoreException.BadRequest($"Did not find element {pos} in datastore");
            var removed = list[at];
            list.RemoveAt(at);
            edits.Changed(block);
            changes.Unindex(removed.Element, removed.Supervoxel, await BodyOfAsync(ct));
            foreach (var b in removed.Element.Rels.Select(r => BlockOf(r.To)).Append(block).Distinct())
            {
                var partners = await edits.GetAsync(b, ct);
                foreach (var s in partners)
                    if (s.Element.Rels.RemoveAll(r => r.To == pos) > 0) edits.Changed(b);
            }
            edits.Flush();
            Log(tx, "element-delete", new Dictionary<string, object> { ["Point"] = new[] { pos.X, pos.Y, pos.Z } });
            return 0;
        }, ct);

    /// <summary>
    /// Moves the element at <paramref name="from"/> to <paramref name="to"/> (replacing any element there), relabels it,
    /// and points relationships to it (in its blocks and its partners' blocks) at the new position.
    /// </summary>
    public Task MoveElementAsync(ElementPos from, ElementPos to, CancellationToken ct = default)
        => ChangeAsync(async (tx, changes) =>
        {
            var edits = new BlockEdits(tx);
            var fromBlock = BlockOf(from);
            var source = await edits.GetAsync(fromBlock, ct);
            int at = source.FindIndex(s => s.Element.Pos == from);
            if (at < 0) throw DatastoreException.BadRequest($"Did not find moved element {from} in datastore");
            if (from == to) return 0;
            var (svs, bodyOf) = await LabelsUnderAsync([to], ct);
            var moving = source[at];
            source.RemoveAt(at);
            edits.Changed(fromBlock);
            changes.Unindex(moving.Element, moving.Supervoxel, bodyOf);
            var toBlock = BlockOf(to);
            var target = await edits.GetAsync(toBlock, ct);
            int occupied = target.FindIndex(s => s.Element.Pos == to);
            if (occupied >= 0)
            {
                changes.Unindex(target[occupied].Element, target[occupied].Supervoxel, bodyOf);
                target.RemoveAt(occupied);
            }
            var moved = moving.Element.Clone();
            moved.Pos = to;
            target.Add(new StoredElement(moved, svs[0]));
            edits.Changed(toBlock);
            changes.Index(moved, svs[0], bodyOf);
            foreach (var b in moved.Rels.Select(r => BlockOf(r.To)).Append(fromBlock).Append(toBlock).Distinct())
            {
                var partners = await edits.GetAsync(b, ct);
                foreach (var s in partners)
                    for (int i = 0; i < s.Element.Rels.Count; i++)
                        if (s.Element.Rels[i].To == from)
                        {
                            s.Element.Rels[i] = s.Element.Rels[i] with { To = to };
                            edits.Changed(b);
                        }
            }
            edits.Flush();
            Log(tx, "element-move", new Dictionary<string, object> { ["From"] = new[] { from.X, from.Y, from.Z }, ["To"] = new[] { to.X, to.Y, to.Z } });
            return 0;
        }, ct);

    /// <summary>
    /// DVID's <c>POST labels</c>: label lists set as given (positions and kinds), for instances not synced to labels
    /// (a synced instance's label lists follow its labels).
    /// </summary>
    public Task PostLabelsAsync(IReadOnlyList<(ulong Label, List<Element> Elements)> labels, CancellationToken ct = default)
    {
        if (Labels is not null)
            throw DatastoreException.BadRequest($"annotation \"{_data.Instance.Name}\" is synced to labels, so its label lists follow them; POST elements instead");
        return ChangeAsync(async (tx, changes) =>
        {
            foreach (var (label, elements) in labels)
            {
                if (label == 0) continue;
                if (await tx.GetAsync(LabelKey(label), ct) is { } old)
                    foreach (var e in ElementRecords.DecodeIndex(old)) changes.RemoveFromLabel(label, e);
                foreach (var e in elements) changes.AddToLabel(label, new IndexEntry(e.Pos, e.Kind, label));
            }
            return 0;
        }, ct);
    }

    /// <summary>Parses a block key <c>"x,y,z"</c> (spaces allowed around the numbers).</summary>
    public static Point3 ParseBlockKey(string key)
    {
        var parts = key.Split(',');
        var v = new int[3];
        if (parts.Length != 3 || !parts.Select((p, i) => int.TryParse(p.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v[i])).All(ok => ok))
            throw DatastoreException.BadRequest($"block key \"{key}\" must be block coordinates \"x,y,z\"");
        return new Point3(v[0], v[1], v[2]);
    }
}
