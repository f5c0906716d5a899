using System.Buffers.Binary;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Labels;

/// <summary>The supervoxel → body mapping of a labelmap: one versioned record per remapped supervoxel, cached per version.</summary>
public sealed partial class LabelVolume
{
    private const string MappingRecord = "mapping";
    private static readonly IReadOnlyDictionary<ulong, ulong> Empty = new Dictionary<ulong, ulong>();

    /// <summary>Every non-identity supervoxel → body assignment visible here (cached per version in this process).</summary>
    public async ValueTask<IReadOnlyDictionary<ulong, ulong>> MappingAsync(CancellationToken ct = default)
    {
        if (!HasMapping) return Empty;
        // Only this process changes an open version on a local store; elsewhere only locked versions are safe to cache.
        bool cacheable = !_data.Store.IsShared || _data.Node.Locked;
        if (cacheable && _coord.TryGetRecord<Dictionary<ulong, ulong>>(Id, Version, MappingRecord, out var cached) && cached is not null) return cached;
        for (int attempt = 0; ; attempt++)
        {
            // Under a steady stream of changes, take the change turn so that the scan completes between commits.
            using var turn = attempt < 4 ? null : await _coord.LockRecordAsync(Id, Version, ChangeLockName, ct);
            long seen = await Stamp.SettledAsync(ct);
            var map = new Dictionary<ulong, ulong>();
            await foreach (var (tk, v) in _data.ScanAsync([MappingClass], [MappingClass + 1], false, ct))
                map[BinaryPrimitives.ReadUInt64BigEndian(tk.AsSpan(1))] = BinaryPrimitives.ReadUInt64LittleEndian(v);
            // A change that committed while we scanned may be half in what we read: read again. Cache updates of
            // commits take the same lock, so a mapping cached here is never older than the last commit.
            lock (Stamp)
            {
                if (Stamp.Current != seen) continue;
                if (cacheable) _coord.SetRecord(Id, Version, MappingRecord, map);
            }
            return map;
        }
    }

    public static ulong BodyOf(IReadOnlyDictionary<ulong, ulong> mapping, ulong sv) => mapping.TryGetValue(sv, out var b) ? b : sv;

    /// <summary>Maps supervoxels to bodies in place (runs of equal labels are looked up once).</summary>
    public static void ApplyMapping(Span<ulong> labels, IReadOnlyDictionary<ulong, ulong> mapping)
    {
        if (mapping.Count == 0) return;
        ulong last = 0, lastBody = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            ulong l = labels[i];
            if (l == 0) continue;
            if (l != last)
            {
                last = l;
                lastBody = BodyOf(mapping, l);
            }
            labels[i] = lastBody;
        }
    }

    /// <summary>Assigns <paramref name="supervoxels"/> to <paramref name="body"/> in the transaction; the cached mapping follows when it commits.</summary>
    private void SetMapping(Transaction tx, IEnumerable<ulong> supervoxels, ulong body)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(value, body);
        var changes = new List<(ulong Sv, ulong Body)>();
        foreach (var sv in supervoxels)
        {
            if (sv == body) tx.Delete(Key(MappingClass, sv));
            else tx.Put(Key(MappingClass, sv), value);
            changes.Add((sv, body));
        }
        tx.AfterCommit(() => UpdateCachedMapping(changes));
    }

    /// <summary>Applies committed assignments to the cached mapping (a copy: readers may hold the old one).</summary>
    private void UpdateCachedMapping(List<(ulong Sv, ulong Body)> changes)
    {
        lock (Stamp)
        {
            if (!_coord.TryGetRecord<Dictionary<ulong, ulong>>(Id, Version, MappingRecord, out var cached) || cached is null) return;
            var next = new Dictionary<ulong, ulong>(cached);
            foreach (var (sv, b) in changes)
                if (sv == b) next.Remove(sv); else next[sv] = b;
            _coord.SetRecord(Id, Version, MappingRecord, next);
        }
    }
}
