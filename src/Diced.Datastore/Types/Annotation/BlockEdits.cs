using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Annotation;

/// <summary>Block records read once per transaction, changed in memory and written back (or deleted when empty) at the end.</summary>
internal sealed class BlockEdits(Transaction tx)
{
    private readonly Dictionary<Point3, List<StoredElement>> _blocks = new();
    private readonly HashSet<Point3> _dirty = new();

    public async Task<List<StoredElement>> GetAsync(Point3 block, CancellationToken ct)
    {
        if (_blocks.TryGetValue(block, out var list)) return list;
        var stored = await tx.GetAsync(Annotations.BlockKey(block), ct);
        list = stored is null ? [] : ElementRecords.DecodeBlock(stored);
        _blocks[block] = list;
        return list;
    }

    public void Changed(Point3 block) => _dirty.Add(block);

    public void Flush()
    {
        foreach (var b in _dirty)
        {
            var list = _blocks[b];
            if (list.Count == 0) tx.Delete(Annotations.BlockKey(b));
            else tx.Put(Annotations.BlockKey(b), ElementRecords.EncodeBlock(list));
        }
        _dirty.Clear();
    }
}
