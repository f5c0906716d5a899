using System.Runtime.CompilerServices;
using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Roi;

namespace Diced.Datastore.Types.Annotation;

/// <summary>Reading elements: by label, by tag, in a box, by block, in an ROI.</summary>
public sealed partial class Annotations
{
    /// <summary>
    /// The elements listed by a label or tag record, in position order (z, y, x), read from their blocks as one committed
    /// state; with <paramref name="partners"/>, also the elements they relate to (for the verbose form).
    /// </summary>
    private Task<(List<Element> Elements, Dictionary<ElementPos, Element> Partners)> ListedAsync(byte[] key, bool partners, CancellationToken ct)
        => Stamp.ReadAsync(async () =>
        {
            var found = new List<Element>();
            var byPos = new Dictionary<ElementPos, Element>();
            if (await _data.GetAsync(key, ct) is not { } record) return (found, byPos);
            var entries = ElementRecords.DecodeIndex(record);
            // Each block is read and decoded once, however many listed elements it holds.
            var blocks = new Dictionary<Point3, Dictionary<ElementPos, Element>>();
            async Task<Element?> Find(ElementPos pos)
            {
                var b = BlockOf(pos);
                if (!blocks.TryGetValue(b, out var inBlock))
                {
                    inBlock = [];
                    if (await _data.GetAsync(BlockKey(b), ct) is { } r)
                        foreach (var s in ElementRecords.DecodeBlock(r)) inBlock[s.Element.Pos] = s.Element;
                    blocks[b] = inBlock;
                }
                return inBlock.GetValueOrDefault(pos);
            }
            // An entry without a stored element (label lists posted to an unsynced instance) gives its position and kind.
            foreach (var e in entries)
                found.Add(await Find(e.Pos) ?? new Element { Pos = e.Pos, Kind = e.Kind });
            if (partners)
                foreach (var to in found.SelectMany(e => e.Rels).Select(r => r.To).Distinct())
                    if (await Find(to) is { } p) byPos[to] = p;
            return (found, byPos);
        }, ct);

    /// <summary>The elements of body <paramref name="label"/> (empty when it has none).</summary>
    public Task<(List<Element> Elements, Dictionary<ElementPos, Element> Partners)> ByLabelAsync(ulong label, bool partners, CancellationToken ct = default)
    {
        if (label == 0) throw DatastoreException.BadRequest("Label 0 is protected background value and cannot be used for query.");
        return ListedAsync(LabelKey(label), partners, ct);
    }

    /// <summary>The elements with tag <paramref name="tag"/> (empty when none).</summary>
    public Task<(List<Element> Elements, Dictionary<ElementPos, Element> Partners)> ByTagAsync(string tag, bool partners, CancellationToken ct = default)
        => ListedAsync(TagKey(tag), partners, ct);

    /// <summary>The elements inside <paramref name="box"/>, block by block in z, y, x order (blocks with none are skipped).</summary>
    public async IAsyncEnumerable<List<Element>> InBoxAsync(Box box, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (box.VoxelCount <= 0) yield break;
        await foreach (var (_, elements) in BlocksAsync(box.FirstBlock(BlockSize), box.LastBlock(BlockSize), ct))
        {
            var inside = elements.FindAll(e => box.Contains(new Point3(e.Pos.X, e.Pos.Y, e.Pos.Z)));
            if (inside.Count > 0) yield return inside;
        }
    }

    /// <summary>The non-empty blocks from <paramref name="first"/> to <paramref name="last"/> (block coordinates, inclusive), in z, y, x order.</summary>
    public async IAsyncEnumerable<(Point3 Block, List<Element> Elements)> BlocksAsync(Point3 first, Point3 last, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (long z = first.Z; z <= last.Z; z++)
            for (long y = first.Y; y <= last.Y; y++)
            {
                var start = BlockKey(new Point3(first.X, (int)y, (int)z));
                var end = last.X == int.MaxValue ? BlockKey(new Point3(int.MinValue, (int)y, (int)z + 1)) : BlockKey(new Point3(last.X + 1, (int)y, (int)z));
                if (last.X == int.MaxValue && y == int.MaxValue && z == int.MaxValue) end = [BlockClass + 1];
                await foreach (var (tk, v) in _data.ScanAsync(start, end, false, ct))
                    yield return (Point3.ReadZyxIndex(tk.AsSpan(1)), ElementRecords.DecodeBlock(v).Select(s => s.Element).ToList());
            }
    }

    /// <summary>Every non-empty block, in z, y, x order.</summary>
    public async IAsyncEnumerable<(Point3 Block, List<Element> Elements)> AllBlocksAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var (tk, v) in _data.ScanAsync([BlockClass], [BlockClass + 1], false, ct))
            yield return (Point3.ReadZyxIndex(tk.AsSpan(1)), ElementRecords.DecodeBlock(v).Select(s => s.Element).ToList());
    }

    /// <summary>The elements of every block of <paramref name="roi"/> (not filtered by voxel, as DVID), block by block in the ROI's span order.</summary>
    public async IAsyncEnumerable<List<Element>> InRoiAsync(RoiIndex roi, string roiName, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (roi.BlockSize != BlockSize)
            throw DatastoreException.BadRequest($"/roi endpoint currently requires ROI \"{roiName}\" to have same block size as annotation \"{_data.Instance.Name}\"");
        foreach (var span in roi.Spans)
            await foreach (var (_, elements) in BlocksAsync(new Point3(span.X0, span.Y, span.Z), new Point3(span.X1, span.Y, span.Z), ct))
                yield return elements;
    }

    /// <summary>How many block records are stored (DVID's <c>scan</c>).</summary>
    public async Task<long> CountBlocksAsync(CancellationToken ct = default)
    {
        long n = 0;
        await foreach (var _ in _data.ScanAsync([BlockClass], [BlockClass + 1], keysOnly: true, ct)) n++;
        return n;
    }
}
