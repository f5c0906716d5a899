using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using Diced.Datastore.Types;
using Diced.Datastore.Versioning;
using Diced.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diced.Datastore;

/// <summary>
/// The versioned datastore: every repo, its version DAG and data instances, over one ordered key-value store.
/// Metadata lives in memory as immutable snapshots; each change is persisted (one document per repo) before
/// the new snapshot becomes visible. Start-up reads only metadata documents, never data.
/// </summary>
public sealed partial class Datastore : IAsyncDisposable
{
    private const string ServerDocKey = "server";
    private const string RepoDocPrefix = "repo/";
    private const string PendingDeletePrefix = "delete/";

    internal static readonly JsonSerializerOptions DocJson = new() { WriteIndented = false };

    private readonly IKeyValueStore _store;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, Repo> _repos = new();
    private readonly ConcurrentDictionary<uint, NodeWriteGate> _gates = new();
    /// <summary>Per version, the gate of privileged writers (<c>-fullwrite</c>, admins) to its locked node: closed
    /// only when the node is deleted or archived, so those wait out such writes too.</summary>
    private readonly ConcurrentDictionary<uint, NodeWriteGate> _privilegedGates = new();
    private readonly SemaphoreSlim _metaLock = new(1, 1);
    private readonly object _indexLock = new();
    private ImmutableSortedDictionary<string, (Repo Repo, uint Version)> _uuidIndex =
        ImmutableSortedDictionary.Create<string, (Repo, uint)>(StringComparer.Ordinal);
    private readonly List<Task> _background = new();

    private Datastore(StoreMap stores, DataTypeRegistry types, ILogger log)
    {
        Stores = stores;
        _store = stores.Main;
        Counters = new IdCounters(_store);
        Types = types;
        _log = log;
    }

    public DataTypeRegistry Types { get; }

    /// <summary>Block locks, commit stamps and cached per-version records shared by the volume types.</summary>
    public VolumeCoordination Coordination { get; } = new();

    /// <summary>Label and mutation id counters (in the main store).</summary>
    public IdCounters Counters { get; }

    /// <summary>The main store: all metadata, and the data of instances not assigned elsewhere.</summary>
    public IKeyValueStore Store => _store;

    /// <summary>The main store and the named stores instance data may live in.</summary>
    public StoreMap Stores { get; }

    public DateTimeOffset StartTime { get; } = DateTimeOffset.Now;

    /// <summary>Opens the datastore in <paramref name="store"/>, loading metadata and resuming interrupted deletions.</summary>
    public static Task<Datastore> OpenAsync(IKeyValueStore store, DataTypeRegistry types, ILogger? log = null, CancellationToken ct = default)
        => OpenAsync(new StoreMap(store), types, log, ct);

    /// <summary>Opens the datastore whose metadata is in <paramref name="stores"/>' main store.</summary>
    public static async Task<Datastore> OpenAsync(StoreMap stores, DataTypeRegistry types, ILogger? log = null, CancellationToken ct = default)
    {
        var ds = new Datastore(stores, types, log ?? NullLogger.Instance);
        await ds.LoadAsync(ct);
        return ds;
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var prefix = DataKeys.Metadata(RepoDocPrefix);
        await foreach (var kv in _store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), keysOnly: true, ct))
            await LoadRepoAsync(kv.Key, ct);
        await BackfillChangesAsync(ct);
        await ResumeNodeDeletionsAsync(ct);
        var pending = DataKeys.Metadata(PendingDeletePrefix);
        await foreach (var kv in _store.ScanAsync(pending, KeyOrder.PrefixEnd(pending), false, ct))
            ScheduleDataDeletion(BitConverter.ToUInt32(kv.Value), kv.Value.Length > 4 ? System.Text.Encoding.UTF8.GetString(kv.Value, 4, kv.Value.Length - 4) : null, kv.Key);
        _log.LogInformation("Opened datastore {Store}: {Repos} repos, {Nodes} versions", _store.Description, _repos.Count, _uuidIndex.Count);
        if (_store.IsShared)
        {
            _fence = new WriteFence(started);
            _refresh = Task.Run(() => RefreshLoopAsync(_stopping.Token));
        }
    }

    /// <summary>Reads one repo document and publishes it (new, or newer than what this process holds).</summary>
    private async Task<Repo?> LoadRepoAsync(byte[] key, CancellationToken ct)
    {
        var tagged = await _store.GetTaggedAsync(key, ct);
        if (tagged is null) return null;
        var state = JsonSerializer.Deserialize<RepoRecord>(tagged.Value, DocJson)!;
        var repo = _repos.GetOrAdd(state.Root, _ => new Repo(state, tagged.Tag));
        lock (repo)
        {
            if (repo.Tag != tagged.Tag && state.Revision >= repo.State.Revision)
            {
                repo.State = state;
                repo.Tag = tagged.Tag;
            }
        }
        IndexNodes(repo, repo.State);
        foreach (var node in repo.State.Nodes.Values.Where(n => n.Locked))
            CloseGate(node.VersionId);
        return repo;
    }

    /// <summary>How often a server sharing its store re-reads metadata written by other servers.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopping = new();
    private WriteFence? _fence; // set when other servers may share the store

    /// <summary>How long ago shared metadata was last read (null: the store is not shared).</summary>
    public TimeSpan? MetadataAge => _fence?.Age;

    /// <summary>A metadata key read to check that the store answers (it need not exist).</summary>
    public static readonly byte[] ReadinessProbeKey = DataKeys.Metadata("ready-probe");
    private Task? _refresh;

    /// <summary>
    /// Picks up repos created, changed or deleted by other servers on the same store: one listing of the repo
    /// documents (with their tags) per interval, and a read of each document whose tag changed.
    /// </summary>
    private async Task RefreshLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RefreshInterval, ct);
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                await RefreshAsync(ct);
                _fence?.Refreshed(started);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                _log.LogWarning(e, "Refreshing metadata from {Store} failed; retrying", _store.Description);
            }
        }
    }

    /// <summary>One refresh pass (see <see cref="RefreshLoopAsync"/>).</summary>
    public async Task RefreshAsync(CancellationToken ct = default)
    {
        var prefix = DataKeys.Metadata(RepoDocPrefix);
        var seen = new HashSet<string>();
        var knownBefore = _repos.Keys.ToHashSet(); // repos created during the listing must not look deleted
        await foreach (var kv in _store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), keysOnly: true, ct))
        {
            var root = System.Text.Encoding.UTF8.GetString(kv.Key.AsSpan(prefix.Length));
            seen.Add(root);
            if (_repos.TryGetValue(root, out var known) && kv.Tag is not null && known.Tag == kv.Tag) continue;
            await LoadRepoAsync(kv.Key, ct);
        }
        foreach (var repo in _repos.Values.Where(r => knownBefore.Contains(r.Root) && !seen.Contains(r.Root)).ToList())
        {
            // A listing can lag a write: only a document that is really gone means the repo was deleted.
            if (await _store.GetTaggedAsync(DataKeys.Metadata(RepoDocPrefix + repo.Root), ct) is not null) continue;
            repo.Deleted = true;
            _repos.TryRemove(repo.Root, out _);
            UnindexRepo(repo.State);
        }
    }

    /// <summary>All live repos.</summary>
    public IEnumerable<Repo> Repos => _repos.Values.Where(r => !r.Deleted).OrderBy(r => r.State.Created);

    private void IndexNodes(Repo repo, RepoRecord state)
    {
        lock (_indexLock)
        {
            var b = _uuidIndex.ToBuilder();
            foreach (var n in state.Nodes.Values) b[n.Uuid] = (repo, n.VersionId);
            _uuidIndex = b.ToImmutable();
        }
    }

    private void UnindexRepo(RepoRecord state)
    {
        lock (_indexLock)
        {
            var b = _uuidIndex.ToBuilder();
            foreach (var n in state.Nodes.Values) b.Remove(n.Uuid);
            _uuidIndex = b.ToImmutable();
        }
    }

    private NodeWriteGate GateOf(uint version) => _gates.GetOrAdd(version, _ => new NodeWriteGate());

    private NodeWriteGate PrivilegedGateOf(uint version) => _privilegedGates.GetOrAdd(version, _ => new NodeWriteGate());

    /// <summary>
    /// Closes both gates of <paramref name="version"/> (deletion, archiving) and waits for the writes they admitted:
    /// not cancellable, so a caller that gives up never leaves a gate closed for an operation that did not happen.
    /// </summary>
    private async Task CloseAllGatesAsync(uint version)
    {
        await GateOf(version).CloseAsync();
        await PrivilegedGateOf(version).CloseAsync();
    }

    /// <summary>Deleting and archiving versions one at a time, so one's failure never reopens a gate the other closed.</summary>
    private readonly SemaphoreSlim _versionRemovals = new(1, 1);

    private void CloseGate(uint version) => _ = GateOf(version).CloseAsync();


    /// <summary>
    /// Applies a change to one repo's metadata and persists it with a conditional write before publishing it. When
    /// another server changed the document first, the current one is read back and the change applied again, so
    /// concurrent changes never overwrite each other. <paramref name="change"/> must be a pure function of the state.
    /// </summary>
    private async Task<T> UpdateRepoAsync<T>(Repo repo, Func<RepoRecord, MetaChange, (RepoRecord Next, T Result)> change, CancellationToken ct = default,
        bool needsVersionId = false, bool needsInstanceId = false)
    {
        // Ids come from server-wide counters, allocated before the change; a failed change leaves an unused id.
        var mc = new MetaChange(needsVersionId ? await AllocateIdAsync(isVersion: true, ct) : 0,
                                needsInstanceId ? await AllocateIdAsync(isVersion: false, ct) : 0);
        var key = DataKeys.Metadata(RepoDocPrefix + repo.Root);
        await _metaLock.WaitAsync(ct);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                if (repo.Deleted) throw DatastoreException.BadRequest($"repo {repo.Root} has been deleted");
                var (next, result) = change(repo.State, mc);
                next = next with { Revision = repo.State.Revision + 1, Updated = DateTimeOffset.Now };
                var tag = await _store.PutIfAsync(key, JsonSerializer.SerializeToUtf8Bytes(next, DocJson), repo.Tag, ct);
                if (tag is not null)
                {
                    lock (repo)
                    {
                        repo.State = next;
                        repo.Tag = tag;
                    }
                    IndexNodes(repo, next);
                    if (mc.ExtraWrites is { } extra)
                    {
                        var batch = new WriteBatch();
                        extra(batch);
                        await _store.WriteAsync(batch, ct);
                    }
                    return result;
                }
                if (attempt >= 50) throw new DatastoreException($"repo {repo.Root} is changing too fast to update; try again", ErrorKind.Conflict);
                // Someone else wrote the document: adopt theirs and apply the change again.
                if (await LoadRepoAsync(key, ct) is null)
                {
                    repo.Deleted = true;
                    _repos.TryRemove(repo.Root, out _);
                    UnindexRepo(repo.State);
                }
            }
        }
        finally
        {
            _metaLock.Release();
        }
    }

    /// <summary>Takes the next version or instance id from the server-wide counters (a conditional increment).</summary>
    private async Task<uint> AllocateIdAsync(bool isVersion, CancellationToken ct)
    {
        var key = DataKeys.Metadata(ServerDocKey);
        for (int attempt = 0; ; attempt++)
        {
            var current = await _store.GetTaggedAsync(key, ct);
            var doc = current is null ? new ServerDoc() : JsonSerializer.Deserialize<ServerDoc>(current.Value, DocJson)!;
            uint id = isVersion ? doc.NextVersionId++ : doc.NextInstanceId++;
            doc.Writer = Guid.NewGuid().ToString("N");
            if (await _store.PutIfAsync(key, JsonSerializer.SerializeToUtf8Bytes(doc, DocJson), current?.Tag, ct) is not null) return id;
            if (attempt >= 100) throw new DatastoreException("could not allocate an id: the server counters are contended", ErrorKind.Conflict);
            await Task.Delay(Random.Shared.Next(1, 5 + attempt), ct);
        }
    }

    /// <summary>Ids allocated for one metadata change, and writes to make after it lands.</summary>
    private sealed class MetaChange(uint versionId, uint instanceId)
    {
        public Action<WriteBatch>? ExtraWrites { get; set; }

        public uint NextVersionId() => versionId != 0 ? versionId : throw new InvalidOperationException("this change did not reserve a version id");

        public uint NextInstanceId() => instanceId != 0 ? instanceId : throw new InvalidOperationException("this change did not reserve an instance id");
    }

    /// <summary>Server-wide counters, advanced by conditional writes.</summary>
    private sealed class ServerDoc
    {
        public uint NextVersionId { get; set; } = 1;
        public uint NextInstanceId { get; set; } = 1;
        public int FormatVersion { get; set; } = 1;
        /// <summary>Makes every write's content unique, so a write whose response was lost can recognise itself.</summary>
        public string Writer { get; set; } = "";
    }

    /// <summary>Waits for background deletions (tests and shutdown).</summary>
    public async Task DrainBackgroundAsync()
    {
        Task[] tasks;
        lock (_background) tasks = _background.ToArray();
        await Task.WhenAll(tasks);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        if (_refresh is not null) await _refresh.ContinueWith(_ => { });
        try { await DrainBackgroundAsync().WaitAsync(TimeSpan.FromSeconds(1)); }
        catch (TimeoutException) { /* resumed at next start from the pending-delete records */ }
    }
}

/// <summary>A resolved version: a repo and one of its nodes (snapshot at resolution time).</summary>
public readonly record struct VersionRef(Repo Repo, NodeRecord Node)
{
    public string Uuid => Node.Uuid;
}
