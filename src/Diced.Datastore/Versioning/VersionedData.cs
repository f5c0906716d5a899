using Diced.Storage;

namespace Diced.Datastore.Versioning;

/// <summary>
/// One data instance seen at one version: reads resolve each type key to the value written by the nearest
/// ancestor (a tombstone hides it), writes land at this version. Implements DVID's versioning rules (§5.9).
/// </summary>
public sealed class VersionedData
{
    private readonly IKeyValueStore _store;
    private readonly Repo _repo;
    private readonly NodeWriteGate? _gate;
    private readonly WriteFence? _fence;

    internal VersionedData(IKeyValueStore store, Repo repo, InstanceRecord instance, NodeRecord node, NodeWriteGate? gate, WriteFence? fence = null)
    {
        _store = store;
        _repo = repo;
        Instance = instance;
        Node = node;
        WriteVersion = instance.Versioned ? node.VersionId : repo.RootVersion;
        Ancestry = repo.AncestryOf(WriteVersion);
        _gate = instance.Versioned ? gate : null;
        _fence = instance.Versioned ? fence : null;
    }

    /// <summary>
    /// This instance at this version as <paramref name="snapshot"/> (a frozen view of its store) has it: every read sees
    /// the same committed state. It cannot be written.
    /// </summary>
    public VersionedData ReadingFrom(IKeyValueSnapshot snapshot) => new(snapshot, _repo, Instance, Node, null);

    /// <summary>Another instance of the same repo at the same node, with the same write permissions.</summary>
    internal VersionedData Sibling(IKeyValueStore store, InstanceRecord other) => new(store, _repo, other, Node, _gate, _fence);

    /// <summary>Whether reads come from a snapshot (see <see cref="ReadingFrom"/>).</summary>
    public bool IsSnapshot => _store is IKeyValueSnapshot;

    public InstanceRecord Instance { get; }

    /// <summary>The node named in the request (for unversioned instances reads and writes go to the root).</summary>
    public NodeRecord Node { get; }

    public Repo Repo => _repo;

    /// <summary>The version at which writes land: the node, or the root for unversioned instances.</summary>
    public uint WriteVersion { get; }

    public Ancestry Ancestry { get; }

    public IKeyValueStore Store => _store;

    /// <summary>The stored value visible here for <paramref name="tkey"/>, or null when absent or deleted.</summary>
    public async ValueTask<byte[]?> GetAsync(byte[] tkey, CancellationToken ct = default)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try { return await GetNowAsync(tkey, ct); }
        finally { DicedMetrics.StoreTime(_store, "get", started); }
    }

    private async ValueTask<byte[]?> GetNowAsync(byte[] tkey, CancellationToken ct)
    {
        var prefix = DataKeys.TypeKeyPrefix(Instance.InstanceId, tkey);
        var end = KeyOrder.PrefixEnd(prefix);
        List<KeyValue>? entries = null;
        KeyValue single = default;
        int count = 0;
        await foreach (var kv in _store.ScanAsync(prefix, end, false, ct))
        {
            if (kv.Key.Length != prefix.Length + DataKeys.SuffixLength) continue; // defensive: not this type key
            if (count == 0) single = kv;
            else (entries ??= new() { single }).Add(kv);
            count++;
        }
        if (count == 0) return null;
        var chosen = Resolve(count == 1 ? [single] : entries!);
        return chosen is { } c && !DataKeys.IsTombstone(c.Key) ? c.Value : null;
    }

    /// <summary>The version whose entry for <paramref name="tkey"/> is the one visible here (null when none is, or a
    /// tombstone is): DVID's "which version stored this".</summary>
    public async ValueTask<uint?> VisibleVersionAsync(byte[] tkey, CancellationToken ct = default)
        => await VisibleEntryKeyAsync(tkey, ct) is { } k && !DataKeys.IsTombstone(k) ? DataKeys.VersionOf(k) : null;

    /// <summary>The version whose entry (value or tombstone) for <paramref name="tkey"/> is visible here, or null.</summary>
    public async ValueTask<uint?> WriterVersionAsync(byte[] tkey, CancellationToken ct = default)
        => await VisibleEntryKeyAsync(tkey, ct) is { } k ? DataKeys.VersionOf(k) : null;

    /// <summary>Whether <paramref name="tkey"/> has a visible value here.</summary>
    public async ValueTask<bool> ExistsAsync(byte[] tkey, CancellationToken ct = default)
        => await VisibleEntryKeyAsync(tkey, ct) is { } k && !DataKeys.IsTombstone(k);

    /// <summary>The full key of the entry (value or tombstone) visible here for <paramref name="tkey"/>, read keys only.</summary>
    private async ValueTask<byte[]?> VisibleEntryKeyAsync(byte[] tkey, CancellationToken ct)
    {
        var prefix = DataKeys.TypeKeyPrefix(Instance.InstanceId, tkey);
        var entries = new List<KeyValue>(2);
        await foreach (var kv in _store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), true, ct))
            if (kv.Key.Length == prefix.Length + DataKeys.SuffixLength) entries.Add(kv);
        return entries.Count > 0 && Resolve(entries) is { } c ? c.Key : null;
    }

    /// <summary>
    /// Visible (type key, stored value) pairs with <paramref name="startTKey"/> ≤ type key &lt; <paramref name="endTKey"/>
    /// in type-key order. An empty end means "to the end of the instance".
    /// </summary>
    public async IAsyncEnumerable<(byte[] TKey, byte[] Value)> ScanAsync(byte[] startTKey, byte[] endTKey, bool keysOnly = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var start = DataKeys.TypeKeyPrefix(Instance.InstanceId, startTKey);
        var end = endTKey.Length > 0
            ? DataKeys.TypeKeyPrefix(Instance.InstanceId, endTKey)
            : KeyOrder.PrefixEnd(DataKeys.InstancePrefix(Instance.InstanceId));
        var group = new List<KeyValue>(2);
        byte[]? groupTKey = null;
        await foreach (var kv in _store.ScanAsync(start, end, keysOnly, ct))
        {
            if (groupTKey is not null && !HasTypeKey(kv.Key, groupTKey))
            {
                if (Resolve(group) is { } c && !DataKeys.IsTombstone(c.Key)) yield return (groupTKey, c.Value);
                group.Clear();
                groupTKey = null;
            }
            groupTKey ??= DataKeys.TypeKeyOf(kv.Key).ToArray();
            group.Add(kv);
        }
        if (groupTKey is not null && Resolve(group) is { } last && !DataKeys.IsTombstone(last.Key))
            yield return (groupTKey, last.Value);
    }

    /// <summary>
    /// Calls <paramref name="reader"/> for every visible type key in [<paramref name="startTKey"/>, <paramref name="endTKey"/>)
    /// with its stored value, read in place where the backend allows (one key-only scan, then one read per key; on
    /// remote stores several reads run at once, so <paramref name="reader"/> may be called concurrently).
    /// </summary>
    public async ValueTask ReadVisibleAsync<TState>(byte[] startTKey, byte[] endTKey, TState state,
        System.Buffers.ReadOnlySpanAction<byte, (byte[] TKey, TState State)> reader, CancellationToken ct = default)
    {
        var visible = new List<byte[]>();
        var start = DataKeys.TypeKeyPrefix(Instance.InstanceId, startTKey);
        var end = DataKeys.TypeKeyPrefix(Instance.InstanceId, endTKey);
        var group = new List<KeyValue>(2);
        await foreach (var kv in _store.ScanAsync(start, end, keysOnly: true, ct))
        {
            if (group.Count > 0 && !SameTypeKey(group[0].Key, kv.Key))
            {
                if (Resolve(group) is { } c && !DataKeys.IsTombstone(c.Key)) visible.Add(c.Key);
                group.Clear();
            }
            group.Add(kv);
        }
        if (group.Count > 0 && Resolve(group) is { } last && !DataKeys.IsTombstone(last.Key)) visible.Add(last.Key);
        if (_store.ReadParallelism <= 1 || visible.Count <= 1)
        {
            foreach (var key in visible)
                await _store.ReadAsync(key, (DataKeys.TypeKeyOf(key).ToArray(), state), reader, ct);
            return;
        }
        // Remote stores: many reads in flight (the reader must then tolerate concurrent calls).
        await Parallel.ForEachAsync(visible, new ParallelOptions { MaxDegreeOfParallelism = _store.ReadParallelism, CancellationToken = ct },
            async (key, token) => await _store.ReadAsync(key, (DataKeys.TypeKeyOf(key).ToArray(), state), reader, token));
    }

    private static bool SameTypeKey(byte[] a, byte[] b)
        => a.Length == b.Length && a.AsSpan(0, a.Length - DataKeys.SuffixLength).SequenceEqual(b.AsSpan(0, b.Length - DataKeys.SuffixLength));

    private static bool HasTypeKey(byte[] key, byte[] tkey) => DataKeys.TypeKeyOf(key).SequenceEqual(tkey);

    /// <summary>Picks the entry visible at this version among all stored versions of one type key.</summary>
    private KeyValue? Resolve(List<KeyValue> entries)
    {
        KeyValue? best = null;
        int bestDistance = int.MaxValue;
        int visible = 0;
        foreach (var kv in entries)
        {
            int d = Ancestry.DistanceTo(DataKeys.VersionOf(kv.Key));
            if (d < 0) continue;
            visible++;
            if (d < bestDistance)
            {
                bestDistance = d;
                best = kv;
            }
        }
        if (!Ancestry.HasMerge || visible <= 1 || bestDistance == 0) return best;
        return ResolveAcrossMerge(entries);
    }

    /// <summary>
    /// Below a merge the nearest entry is not necessarily the visible one: every ancestor entry not shadowed by a
    /// nearer one on its own path survives, and the survivors must agree.
    /// </summary>
    private KeyValue? ResolveAcrossMerge(List<KeyValue> entries)
    {
        var candidates = entries.Where(kv => Ancestry.Contains(DataKeys.VersionOf(kv.Key))).ToList();
        var survivors = candidates.Where(c =>
        {
            uint v = DataKeys.VersionOf(c.Key);
            return !candidates.Any(o => DataKeys.VersionOf(o.Key) != v && _repo.AncestryOf(DataKeys.VersionOf(o.Key)).Contains(v));
        }).ToList();
        var first = survivors[0];
        foreach (var s in survivors.Skip(1))
        {
            bool same = DataKeys.IsTombstone(s.Key) == DataKeys.IsTombstone(first.Key) && s.Value.AsSpan().SequenceEqual(first.Value);
            if (!same)
                throw new DatastoreException($"found multiple conflicting values for a key of data \"{Instance.Name}\" across merged versions", ErrorKind.Conflict);
        }
        return first;
    }

    /// <summary>Starts a transaction at this version; fails if the node is locked. Prefer <see cref="WriteAsync{T}"/>.</summary>
    public Transaction Begin()
    {
        _fence?.ThrowIfStale();
        if (_gate is not null && !_gate.TryEnter())
            throw new DatastoreException($"Cannot write data \"{Instance.Name}\" at locked node {Node.Uuid}");
        return new Transaction(this, _gate is null ? static () => { } : _gate.Exit);
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it atomically. On a store shared with other servers,
    /// a commit whose reads another server changed is dropped and the body runs again, so the body must only read
    /// through the transaction and keep no state between runs. With <paramref name="stamp"/>, readers of that stamp
    /// see the commit and its after-commit actions whole or not at all.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<Transaction, Task<T>> body, CancellationToken ct = default, VersionStamp? stamp = null)
    {
        DicedMetrics.OpenWrites.Add(1);
        try { return await WriteOnceOrAgainAsync(body, ct, stamp); }
        finally { DicedMetrics.OpenWrites.Add(-1); }
    }

    private async Task<T> WriteOnceOrAgainAsync<T>(Func<Transaction, Task<T>> body, CancellationToken ct, VersionStamp? stamp)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (_fence is { IsStale: true } fence) await fence.WaitUntilFreshAsync(WriteFence.StaleWait, ct);
            using (var tx = Begin())
            {
                var result = await body(tx);
                bool committed;
                var joined = tx.JoinedStamps;
                stamp?.BeginChange();
                foreach (var s in joined) s.BeginChange();
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                try { committed = await tx.TryCommitAsync(); }
                finally
                {
                    DicedMetrics.StoreTime(_store, "commit", started);
                    foreach (var s in joined) s.EndChange();
                    stamp?.EndChange();
                }
                if (committed)
                {
                    DicedMetrics.Committed(Instance);
                    return result;
                }
            } // the transaction's locks are released before waiting to run it again
            if (attempt >= 100) throw new DatastoreException($"data \"{Instance.Name}\" is contended by other servers; try again", ErrorKind.Conflict);
            await Task.Delay(Random.Shared.Next(1, 3 + attempt), ct);
        }
    }

    /// <summary>Stores one value at this version.</summary>
    public Task PutAsync(byte[] tkey, byte[] value, CancellationToken ct = default)
        => WriteAsync(tx => { tx.Put(tkey, value); return Task.FromResult(0); }, ct);

    /// <summary>Deletes one type key at this version (a tombstone when an ancestor still holds it).</summary>
    public Task DeleteAsync(byte[] tkey, CancellationToken ct = default)
        => WriteAsync(tx => { tx.Delete(tkey); return Task.FromResult(0); }, ct);

    /// <summary>Whether any proper ancestor of the write version stores a value or tombstone for this key.</summary>
    internal async ValueTask<bool> AncestorHoldsAsync(byte[] tkey, CancellationToken ct)
    {
        var prefix = DataKeys.TypeKeyPrefix(Instance.InstanceId, tkey);
        await foreach (var kv in _store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), true, ct))
        {
            uint v = DataKeys.VersionOf(kv.Key);
            if (v != WriteVersion && Ancestry.Contains(v)) return true;
        }
        return false;
    }
}
