using Diced.Storage;

namespace Diced.Datastore;

/// <summary>
/// Where data lives (DVID's <c>[backend]</c> table): the main store holds all metadata and, by default, every
/// instance's data; named stores take the data of instances assigned to them by data type (<c>uint8blk</c>) or by
/// instance (<c>&lt;repo root uuid&gt;/&lt;name&gt;</c>, the root uuid possibly abbreviated). The choice is made when
/// the instance is created and recorded with it, so later changes of the table never strand data.
/// </summary>
public sealed class StoreMap : IAsyncDisposable
{
    private readonly IReadOnlyDictionary<string, IKeyValueStore> _named;
    private readonly IReadOnlyDictionary<string, string> _backend;

    public StoreMap(IKeyValueStore main, IReadOnlyDictionary<string, IKeyValueStore>? named = null, IReadOnlyDictionary<string, string>? backend = null)
    {
        Main = main;
        _named = named ?? new Dictionary<string, IKeyValueStore>();
        _backend = backend ?? new Dictionary<string, string>();
        foreach (var (spec, store) in _backend)
            if (store != MainName && !_named.ContainsKey(store))
                throw new ArgumentException($"backend \"{spec}\" names store \"{store}\", which is not configured (known: {string.Join(", ", _named.Keys.Prepend(MainName))})");
    }

    /// <summary>The name that selects the main store in the backend table.</summary>
    public const string MainName = "default";

    public IKeyValueStore Main { get; }

    /// <summary>Named stores other than the main one.</summary>
    public IReadOnlyDictionary<string, IKeyValueStore> Named => _named;

    /// <summary>The store for a new instance: its own entry first, then its type's, else the main store (null).</summary>
    public string? Choose(string typeName, string repoRoot, string instanceName)
    {
        foreach (var (spec, store) in _backend)
        {
            int slash = spec.IndexOf('/');
            if (slash > 0 && spec[(slash + 1)..] == instanceName && repoRoot.StartsWith(spec[..slash], StringComparison.OrdinalIgnoreCase))
                return store == MainName ? null : store;
        }
        return _backend.TryGetValue(typeName, out var byType) && byType != MainName ? byType : null;
    }

    /// <summary>The store holding an instance's data.</summary>
    public IKeyValueStore Of(InstanceRecord instance) => instance.Store is null ? Main
        : _named.TryGetValue(instance.Store, out var s) ? s
        : throw new DatastoreException($"data instance \"{instance.Name}\" lives in store \"{instance.Store}\", which this server does not configure (Diced:Stores:{instance.Store})", ErrorKind.Unavailable);

    /// <summary>Whether this server has the store holding an instance's data.</summary>
    public bool Has(InstanceRecord instance) => Find(instance.Store) is not null;

    /// <summary>The description of an instance's store, for info documents (never throws).</summary>
    public string Describe(InstanceRecord instance) => Find(instance.Store)?.Description ?? $"store \"{instance.Store}\" (not configured)";

    internal IKeyValueStore? Find(string? name) => name is null ? Main : _named.GetValueOrDefault(name);

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _named.Values) await s.DisposeAsync();
        await Main.DisposeAsync();
    }
}
