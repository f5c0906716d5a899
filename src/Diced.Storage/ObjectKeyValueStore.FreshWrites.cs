using System.Security.Cryptography;

namespace Diced.Storage;

/// <summary>
/// Bulk batches into fresh names (a volume slab written at a version for the first time) are journalled for undo
/// rather than redo: the journal lists the names and a hash of what the batch writes to each, not the bytes, so the
/// data crosses the network once instead of twice. A crash before the journal is removed rolls the batch back (names
/// that still hold what it wrote are deleted, the few small objects it overwrote are restored); the batch is only
/// acknowledged after the journal is gone, so nothing acknowledged is ever rolled back. One listing of the bulk names'
/// range shows they are fresh; a batch that overwrites bulk objects keeps the redo journal, which needs no reads.
/// </summary>
public abstract partial class ObjectKeyValueStore
{
    /// <summary>Values at least this large are bulk (volume blocks).</summary>
    private const int BulkValueBytes = 16 * 1024;

    /// <summary>Bulk bytes from which listing the names first pays for itself.</summary>
    private const long FreshWriteBytes = 1 << 20;

    /// <summary>Most listing pages spent on finding out whether the bulk names are fresh.</summary>
    private const int FreshListPages = 4;

    /// <summary>Most other objects whose previous state is fetched one by one.</summary>
    private const int FreshSingleReads = 16;

    /// <summary>
    /// The undo record of <paramref name="ops"/> when its bulk puts all go to absent names (the names, hashes of what
    /// the batch writes, and the previous values of the few small objects it changes), or null when it does not
    /// qualify and needs the redo journal.
    /// </summary>
    private async Task<List<UndoEntry>?> FreshUndoAsync(Dictionary<string, byte[]?> ops, CancellationToken ct)
    {
        var bulk = ops.Where(o => o.Value is { Length: >= BulkValueBytes }).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
        if (bulk.Sum(n => (long)ops[n]!.Length) < FreshWriteBytes) return null;
        string first = bulk[0], last = bulk[^1];
        bool InRange(string name) => string.CompareOrdinal(name, first) >= 0 && string.CompareOrdinal(name, last) <= 0;
        // The other objects outside the bulk range are fetched one by one, while the range is listed.
        var singles = ops.Where(o => o.Value is not { Length: >= BulkValueBytes } && !InRange(o.Key)).Select(o => o.Key).ToList();
        if (singles.Count > FreshSingleReads) return null;
        var fetching = Task.WhenAll(singles.Select(n => WithRetries(() => Limit(() => GetObjectAsync(n, ct), ct), ct)));
        var existing = new HashSet<string>(StringComparer.Ordinal);
        int pages = 0;
        bool complete = false;
        await foreach (var page in ListPagesAsync(DataPrefix, first, ct))
        {
            foreach (var (name, _, _) in page)
            {
                if (string.CompareOrdinal(name, first) < 0) continue;
                if (string.CompareOrdinal(name, last) > 0) { complete = true; break; }
                existing.Add(name);
            }
            if (complete || ++pages >= FreshListPages) break;
        }
        var previous = await fetching;
        if (!complete && pages >= FreshListPages) return null;
        // Small objects in the range that exist would need their previous values too: rare, left to the redo journal.
        if (ops.Keys.Any(n => InRange(n) && existing.Contains(n) && ops[n] is not null)) return null;

        var undo = bulk.Select(n => new UndoEntry(n, null, null, Sha(ops[n]!))).ToList();
        foreach (var (name, value) in ops)
            if (value is not null && value.Length < BulkValueBytes && InRange(name))
                undo.Add(new UndoEntry(name, null, null, Sha(value)));
        // Deletes in the range of names that exist: restored from their previous values.
        var doomed = ops.Where(o => o.Value is null && InRange(o.Key) && existing.Contains(o.Key)).Select(o => o.Key).ToList();
        if (doomed.Count > FreshSingleReads) return null;
        var old = await Task.WhenAll(doomed.Select(n => WithRetries(() => Limit(() => GetObjectAsync(n, ct), ct), ct)));
        for (int i = 0; i < doomed.Count; i++)
            if (old[i] is { } o) undo.Add(new UndoEntry(doomed[i], Base64(o.Value), null, null));
        for (int i = 0; i < singles.Count; i++)
        {
            var value = ops[singles[i]];
            if (previous[i] is null && value is null) continue;
            undo.Add(new UndoEntry(singles[i], Base64(previous[i]?.Value), Base64(value), null));
        }
        return undo;
    }

    /// <summary>Writes a batch of fresh bulk data under its undo journal; on failure rolls it back (or leaves the journal
    /// for the next open to).</summary>
    private async Task WriteFreshAsync(Dictionary<string, byte[]?> ops, List<UndoEntry> undo, CancellationToken ct)
    {
        var journal = NewJournalName();
        await WithRetries(() => Put(journal, Encode(new Journal(null, undo)), ct), ct);
        try { await WithRetries(() => ApplyAsync(ops, ct), ct); }
        catch (Exception)
        {
            try { await AbandonAsync(journal, undo, CancellationToken.None); }
            catch (Exception) { } // the undo journal stays: the next open rolls the batch back
            throw;
        }
        await WithRetries(() => Limit(() => DeleteObjectAsync(journal, ct), ct), ct);
    }

    private static string Sha(byte[] value) => Convert.ToHexStringLower(SHA256.HashData(value));

    /// <summary>Whether <paramref name="now"/> is what an undo entry says its batch wrote.</summary>
    private static bool HoldsWhatWasWritten(UndoEntry e, TaggedValue? now)
    {
        if (e.Sha is not null) return now is not null && Sha(now.Value) == e.Sha;
        var wrote = FromBase64(e.New);
        return wrote is null ? now is null : now is not null && now.Value.AsSpan().SequenceEqual(wrote);
    }
}
