using System.Text.Json;

namespace Diced.Storage;

/// <summary>
/// Batches on an object store, where no request writes two objects. A plain batch writes a journal of its operations
/// first and removes it last; a journal left by a crash is completed when a store opens. A conditional batch
/// (<see cref="TryWriteAsync"/>) first journals an undo record, writes its conditional keys one at a time with
/// conditional PUTs, and only once every condition has held turns the journal into the list of the remaining writes:
/// before that point a crash or a failed condition rolls the batch back, after it the batch is completed. Undo restores
/// a key only while it still holds what the batch wrote, so it never erases a later writer's value.
/// Between servers this is not isolation: a reader may see, and a writer build on, a key that an undecided batch
/// wrote and later undoes. Within one server the data model's locks keep transactions on the same keys apart.
/// </summary>
public abstract partial class ObjectKeyValueStore
{
    private const int Attempts = 6;

    public async ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default)
    {
        if (batch.Count == 0) return;
        var ops = LastByName(batch.Operations);
        if (ops.Count == 1)
        {
            await ApplyAsync(ops, ct);
            return;
        }
        if (await FreshUndoAsync(ops, ct) is { } undo)
        {
            await WriteFreshAsync(ops, undo, ct);
            return;
        }
        // Journal first: a crash after this point is completed by the next open; before it, nothing happened.
        var journal = NewJournalName();
        await Put(journal, Encode(new Journal(Entries(ops), null)), ct);
        await ApplyAsync(ops, ct);
        await Limit(() => DeleteObjectAsync(journal, ct), ct);
    }

    public async ValueTask<bool> TryWriteAsync(WriteBatch batch, CancellationToken ct = default)
    {
        if (batch.Conditions.Count == 0)
        {
            await WriteAsync(batch, ct);
            return true;
        }
        var ops = LastByName(batch.Operations);
        var conditions = batch.Conditions.GroupBy(c => ObjectName(c.Key)).Select(g => (Name: g.Key, Condition: g.First()))
            .OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        var undo = conditions.Where(c => ops.ContainsKey(c.Name))
            .Select(c => new UndoEntry(c.Name, Base64(c.Condition.Current), Base64(ops[c.Name]))).ToList();
        var journal = NewJournalName();
        await WithRetries(() => Put(journal, Encode(new Journal(null, undo)), ct), ct);
        // Every key this batch may have written so far: undo restores only those that still hold what it wrote, so a
        // key whose write is in doubt belongs here before the attempt.
        var attempted = new List<UndoEntry>();
        try
        {
            foreach (var (name, c) in conditions)
            {
                bool written = ops.Remove(name, out var value);
                if (written) attempted.Add(undo.First(u => u.Name == name));
                if (!await ApplyConditionalAsync(name, c, written, value, ct))
                {
                    await AbandonAsync(journal, attempted, ct);
                    return false;
                }
            }
            if (ops.Count > 0 && await FreshUndoAsync(ops, ct) is { } fresh)
            {
                // What remains is fresh bulk data: the journal stays an undo record, now covering it too, and the batch
                // is decided once the journal is removed (any failure before that rolls everything back).
                attempted.AddRange(fresh);
                await WithRetries(() => Put(journal, Encode(new Journal(null, attempted)), ct), ct);
                await WithRetries(() => ApplyAsync(ops, ct), ct);
                await WithRetries(() => Limit(() => DeleteObjectAsync(journal, ct), ct), ct);
                return true;
            }
            // Every condition held. The batch is decided once the journal lists what remains to be written.
            if (ops.Count > 0) await WithRetries(() => Put(journal, Encode(new Journal(Entries(ops), null)), ct), ct);
        }
        catch (Exception)
        {
            try { await AbandonAsync(journal, attempted, ct); }
            catch (Exception) { } // the undo journal stays: the next open rolls the batch back
            throw;
        }
        try
        {
            if (ops.Count > 0) await WithRetries(() => ApplyAsync(ops, ct), ct);
            await WithRetries(() => Limit(() => DeleteObjectAsync(journal, ct), ct), ct);
        }
        catch (Exception)
        {
            // Decided but not finished: finish in the background (and, failing that, at the next open).
            _ = Task.Run(() => CompleteLaterAsync(journal, ops));
            throw;
        }
        return true;
    }

    /// <summary>Rolls back an undecided batch and removes its journal.</summary>
    private async Task AbandonAsync(string journal, List<UndoEntry> attempted, CancellationToken ct)
    {
        await UndoAsync(attempted, ct);
        await WithRetries(() => Limit(() => DeleteObjectAsync(journal, ct), ct), ct);
    }

    /// <summary>Keeps trying, for a few minutes, to finish a decided batch whose writes failed.</summary>
    private async Task CompleteLaterAsync(string journal, Dictionary<string, byte[]?> ops)
    {
        for (int attempt = 0; attempt < 30; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, 1 << Math.Min(attempt, 4))));
            try
            {
                await ApplyAsync(ops, CancellationToken.None);
                await Limit(() => DeleteObjectAsync(journal, CancellationToken.None), CancellationToken.None);
                return;
            }
            catch (Exception) { }
        }
    }

    /// <summary>
    /// Writes (or deletes) one conditional key if its tag is still the expected one. A PUT whose answer was lost is
    /// resolved by reading the object back: if it holds exactly our value, the PUT landed.
    /// </summary>
    private async Task<bool> ApplyConditionalAsync(string name, WriteCondition c, bool written, byte[]? value, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                if (written && value is not null) return await Limit(() => PutObjectAsync(name, value, true, c.Tag, ct), ct) is not null;
                // A delete or a bare condition: compare the tag (a conditional delete is not offered by every service).
                var now = await Limit(() => GetObjectAsync(name, ct), ct);
                if (now?.Tag != c.Tag) return false;
                if (written) await Limit(() => DeleteObjectAsync(name, ct), ct);
                return true;
            }
            catch (Exception e) when (attempt < Attempts && RetryingKeyValueStore.IsTransient(e) && !ct.IsCancellationRequested)
            {
                await Backoff(attempt, ct);
                if (value is null) continue;
                var now = await WithRetries(() => Limit(() => GetObjectAsync(name, ct), ct), ct);
                if (now is not null && now.Value.AsSpan().SequenceEqual(value)) return true;
                if (now?.Tag != c.Tag) return false;
            }
        }
    }

    /// <summary>Restores each key that still holds what the batch wrote to what it held before.</summary>
    private async Task UndoAsync(IEnumerable<UndoEntry> entries, CancellationToken ct)
    {
        foreach (var e in entries)
        {
            var previous = FromBase64(e.Old);
            await WithRetries(async () =>
            {
                var now = await Limit(() => GetObjectAsync(e.Name, ct), ct);
                if (!HoldsWhatWasWritten(e, now)) return true; // never written, or another writer's since: leave it
                if (previous is null) await Limit(() => DeleteObjectAsync(e.Name, ct), ct);
                else await Limit(() => PutObjectAsync(e.Name, previous, true, now?.Tag, ct), ct);
                return true;
            }, ct);
        }
    }

    /// <summary>How old an undo journal must be before an opening store rolls it back: a younger one may belong to a
    /// batch another server is still writing (rolling that back would tear a write it is about to acknowledge).</summary>
    private static readonly TimeSpan UndoGrace = TimeSpan.FromSeconds(60);

    /// <summary>Completes batches whose writer died after deciding them, and rolls back those it died before deciding
    /// (undo journals younger than <see cref="UndoGrace"/> once they reach that age, in the background).</summary>
    protected async Task ReplayJournalsAsync(CancellationToken ct)
    {
        var names = new List<string>();
        await foreach (var page in ListPagesAsync(JournalPrefix, null, ct)) names.AddRange(page.Select(p => p.Name));
        var deferred = new List<string>();
        foreach (var name in names)
            if (!await ReplayJournalAsync(name, DateTime.UtcNow - UndoGrace, ct)) deferred.Add(name);
        if (deferred.Count > 0)
            _ = Task.Run(async () =>
            {
                await Task.Delay(UndoGrace);
                foreach (var name in deferred)
                {
                    try { await ReplayJournalAsync(name, DateTime.MaxValue, CancellationToken.None); }
                    catch (Exception) { } // left for the next open
                }
            });
    }

    /// <summary>Replays one journal and removes it; false (untouched) when it is an undo record written after <paramref name="undoBefore"/>.</summary>
    private async Task<bool> ReplayJournalAsync(string name, DateTime undoBefore, CancellationToken ct)
    {
        var stored = await Limit(() => GetObjectAsync(name, ct), ct);
        if (stored is null) return true;
        using (var doc = JsonDocument.Parse(stored.Value))
        {
            if (doc.RootElement.ValueKind == JsonValueKind.Array) // journals written before undo records existed
                await ApplyAsync(LastByName(Decode(doc.RootElement.Deserialize<List<JournalEntry>>()!)), ct);
            else if (doc.RootElement.Deserialize<Journal>() is { } j)
            {
                if (j.Undo is not null && WrittenAt(name) > undoBefore) return false;
                if (j.Undo is not null) await UndoAsync(j.Undo, ct);
                if (j.Ops is not null) await ApplyAsync(LastByName(Decode(j.Ops)), ct);
            }
        }
        await Limit(() => DeleteObjectAsync(name, ct), ct);
        return true;
    }

    /// <summary>When a journal was written, from its name (<see cref="NewJournalName"/>); long ago when unreadable.</summary>
    private DateTime WrittenAt(string name)
        => name.Length >= JournalPrefix.Length + 17 && DateTime.TryParseExact(name.AsSpan(JournalPrefix.Length, 17), "yyyyMMddHHmmssfff",
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t : DateTime.MinValue;

    private string NewJournalName() => JournalPrefix + $"{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid():N}";

    /// <summary>The last operation on each object (later operations on a key replace earlier ones).</summary>
    private Dictionary<string, byte[]?> LastByName(IEnumerable<(byte[] Key, byte[]? Value)> ops)
    {
        var last = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var (k, v) in ops) last[ObjectName(k)] = v;
        return last;
    }

    private static Dictionary<string, byte[]?> LastByName(IEnumerable<(string Name, byte[]? Value)> ops)
    {
        var last = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var (n, v) in ops) last[n] = v;
        return last;
    }

    /// <summary>Applies puts (non-null) and deletes (null) to objects, in parallel.</summary>
    private async Task ApplyAsync(Dictionary<string, byte[]?> ops, CancellationToken ct)
    {
        // Deletes go out as batch deletes where the service has them (one request instead of one per object: a volume
        // write clears a tombstone name beside every block it writes), alongside the puts (each name occurs once).
        var deletes = ops.Where(o => o.Value is null).Select(o => o.Key).ToList();
        var deleting = deletes.Count == 0 ? Task.CompletedTask : deletes.Count == 1 ? Limit(() => DeleteObjectAsync(deletes[0], ct), ct) : DeleteObjectsAsync(deletes, ct);
        var putting = Parallel.ForEachAsync(ops.Where(o => o.Value is not null), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            async (op, token) => await Put(op.Key, op.Value!, token));
        await Task.WhenAll(putting, deleting);
    }

    /// <summary>Runs an idempotent request, retrying transient failures with backoff.</summary>
    private static async Task<T> WithRetries<T>(Func<Task<T>> request, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try { return await request(); }
            catch (Exception e) when (attempt < Attempts && RetryingKeyValueStore.IsTransient(e) && !ct.IsCancellationRequested)
            {
                await Backoff(attempt, ct);
            }
        }
    }

    private static Task WithRetries(Func<Task> request, CancellationToken ct) => WithRetries(async () => { await request(); return true; }, ct);

    private static Task Backoff(int attempt, CancellationToken ct)
        => Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Pow(2, attempt - 1) * (0.5 + Random.Shared.NextDouble())), ct);

    /// <summary>A journal: the writes that complete a decided batch (<see cref="Ops"/>, object names), or the undo record
    /// of an undecided one (<see cref="Undo"/>).</summary>
    private sealed record Journal(List<JournalEntry>? Ops, List<UndoEntry>? Undo);

    private sealed record JournalEntry(string K, string? V);

    /// <summary>An object an undecided batch writes: what it held (<see cref="Old"/>) and what the batch writes (<see cref="New"/>), base64, null for absent.</summary>
    /// <summary>… or, for bulk data, only the SHA-256 (hex) of what it writes (<see cref="Sha"/>, with <see cref="New"/> null).</summary>
    private sealed record UndoEntry(string Name, string? Old, string? New, string? Sha = null);

    private static string? Base64(byte[]? v) => v is null ? null : Convert.ToBase64String(v);

    private static byte[]? FromBase64(string? v) => v is null ? null : Convert.FromBase64String(v);

    private static List<JournalEntry> Entries(Dictionary<string, byte[]?> ops) => ops.Select(o => new JournalEntry(o.Key, Base64(o.Value))).ToList();

    /// <summary>Journal entries by object name (current journals) or by base64 key (journals before undo records existed).</summary>
    private IEnumerable<(string Name, byte[]? Value)> Decode(List<JournalEntry> entries)
        => entries.Select(e => (e.K.StartsWith(DataPrefix, StringComparison.Ordinal) ? e.K : ObjectName(Convert.FromBase64String(e.K)), FromBase64(e.V)));

    private static byte[] Encode(Journal j) => JsonSerializer.SerializeToUtf8Bytes(j);
}
