using System.Collections.Immutable;

namespace Diced.Datastore;

/// <summary>One version node of a repo's DAG, as persisted.</summary>
public sealed record NodeRecord
{
    public required string Uuid { get; init; }
    public required uint VersionId { get; init; }
    /// <summary>Branch name; empty for master.</summary>
    public string Branch { get; init; } = "";
    public string Note { get; init; } = "";
    public ImmutableList<string> Log { get; init; } = ImmutableList<string>.Empty;
    public bool Locked { get; init; }
    /// <summary>Archived with its branch: locked, and no write reaches it, not even with <c>-fullwrite</c> or an admin's rights.</summary>
    public bool Archived { get; init; }
    public ImmutableList<uint> Parents { get; init; } = ImmutableList<uint>.Empty;
    public ImmutableList<uint> Children { get; init; } = ImmutableList<uint>.Empty;
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset Updated { get; init; }
}

/// <summary>A data instance (named typed dataset) of a repo, as persisted.</summary>
public sealed record InstanceRecord
{
    public required string Name { get; init; }
    public required string TypeName { get; init; }
    public required string DataUuid { get; init; }
    /// <summary>Server-local id used as the prefix of every data key of this instance.</summary>
    public required uint InstanceId { get; init; }
    /// <summary>UUID of the node where the instance was created.</summary>
    public required string RepoUuid { get; init; }
    public bool Versioned { get; init; } = true;
    /// <summary>The <c>Compression</c> setting, as <see cref="Codecs.CompressionSpec.ToString"/> writes it.</summary>
    public string Compression { get; init; } = "lz4";
    public bool Checksum { get; init; }
    public ImmutableSortedDictionary<string, string>? Tags { get; init; }
    public ImmutableList<string> Syncs { get; init; } = ImmutableList<string>.Empty;
    /// <summary>Type-specific settings, keys lower-cased, values as DVID's string settings.</summary>
    public ImmutableSortedDictionary<string, string> Settings { get; init; } = ImmutableSortedDictionary<string, string>.Empty;
    public DateTimeOffset Created { get; init; }
    /// <summary>Named store holding the instance's data (<see cref="StoreMap"/>); null: the main store.</summary>
    public string? Store { get; init; }
}

/// <summary>A repo: its DAG, its data instances and properties, as persisted in one metadata document.</summary>
public sealed record RepoRecord
{
    public required string Root { get; init; }
    public string Alias { get; init; } = "";
    public string Description { get; init; } = "";
    public ImmutableList<string> Log { get; init; } = ImmutableList<string>.Empty;
    public ImmutableSortedDictionary<string, string> Properties { get; init; } = ImmutableSortedDictionary<string, string>.Empty;
    /// <summary>Nodes keyed by version id.</summary>
    public ImmutableSortedDictionary<uint, NodeRecord> Nodes { get; init; } = ImmutableSortedDictionary<uint, NodeRecord>.Empty;
    /// <summary>Instances keyed by name.</summary>
    public ImmutableSortedDictionary<string, InstanceRecord> Instances { get; init; } = ImmutableSortedDictionary<string, InstanceRecord>.Empty;
    public ulong MutationId { get; init; } = 1_000_000_000;
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset Updated { get; init; }
    /// <summary>Incremented by every change; object-store backends use it for conditional writes.</summary>
    public long Revision { get; init; }

    public NodeRecord RootNode => Nodes.Values.First(n => n.Uuid == Root);
}
