using System.Text.Json;
using Diced.Datastore;

namespace Diced.Server.Json;

/// <summary>DVID's JSON views of repos, DAG nodes and data instances (§4.1, §6.2).</summary>
public sealed class RepoJson(Datastore.Datastore store, InstanceInfoWriters infoWriters)
{
    /// <summary>The repo object of <c>GET /api/repo/{uuid}/info</c>; versioned instance properties are read at the master leaf.</summary>
    public async ValueTask WriteRepoAsync(Utf8JsonWriter w, Repo repo, CancellationToken ct)
    {
        var s = repo.State;
        w.WriteStartObject();
        w.WriteString("Root", s.Root);
        w.WriteString("Alias", s.Alias);
        w.WriteString("Description", s.Description);
        WriteStrings(w, "Log", s.Log);
        w.WriteStartObject("Properties");
        w.WriteEndObject();
        w.WritePropertyName("DataInstances");
        w.WriteStartObject();
        var masterLeaf = SafeMasterLeaf(s);
        // Stored instances, then the virtual ones: image pyramid levels and generated mesh stores.
        var levels = s.Instances.Values.SelectMany(i => Datastore.Types.ImageBlock.ImagePyramid.LevelInstances(i, s.Instances));
        foreach (var inst in s.Instances.Values.Concat(levels).Concat(store.GeneratedMeshInstances(s)))
        {
            w.WritePropertyName(inst.Name);
            await WriteInstanceAsync(w, new Http.InstanceContext(store, new VersionRef(repo, masterLeaf), inst), ct);
        }
        w.WriteEndObject();
        w.WriteStartObject("DAG");
        w.WriteString("Root", s.Root);
        w.WriteStartObject("Nodes");
        foreach (var n in s.Nodes.Values)
        {
            w.WritePropertyName(n.Uuid);
            WriteNode(w, n);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteNumber("MutationID", s.MutationId);
        w.WriteNumber("SavedMutationID", s.MutationId);
        w.WriteString("Created", TimeFormat.Rfc3339Nano(s.Created));
        w.WriteString("Updated", TimeFormat.Rfc3339Nano(s.Updated));
        w.WriteEndObject();
    }

    private static NodeRecord SafeMasterLeaf(RepoRecord s)
    {
        try { return Datastore.Datastore.BranchLeaf(s, "") ?? s.RootNode; }
        catch (DatastoreException) { return s.RootNode; }
    }

    public static void WriteNode(Utf8JsonWriter w, NodeRecord n)
    {
        w.WriteStartObject();
        w.WriteString("Branch", n.Branch);
        w.WriteString("Note", n.Note);
        WriteStrings(w, "Log", n.Log);
        w.WriteString("UUID", n.Uuid);
        w.WriteNumber("VersionID", n.VersionId);
        w.WriteBoolean("Locked", n.Locked);
        if (n.Archived) w.WriteBoolean("Archived", true);
        w.WriteStartArray("Parents");
        foreach (var p in n.Parents) w.WriteNumberValue(p);
        w.WriteEndArray();
        w.WriteStartArray("Children");
        foreach (var c in n.Children) w.WriteNumberValue(c);
        w.WriteEndArray();
        w.WriteString("Created", TimeFormat.Rfc3339Nano(n.Created));
        w.WriteString("Updated", TimeFormat.Rfc3339Nano(n.Updated));
        w.WriteEndObject();
    }

    /// <summary>The instance object of <c>GET …/{name}/info</c>: <c>Base</c>, <c>Extended</c> and, for some types, <c>Extents</c>.</summary>
    public async ValueTask WriteInstanceAsync(Utf8JsonWriter w, Http.InstanceContext ctx, CancellationToken ct)
    {
        var inst = ctx.Instance;
        var type = store.Types.Get(inst.TypeName);
        w.WriteStartObject();
        w.WriteStartObject("Base");
        w.WriteString("TypeName", type.Name);
        w.WriteString("TypeURL", type.Url);
        w.WriteString("TypeVersion", type.Version);
        w.WriteString("DataUUID", inst.DataUuid);
        w.WriteString("Name", inst.Name);
        w.WriteString("RepoUUID", inst.RepoUuid);
        w.WriteString("Compression", Codecs.CompressionSpec.Parse(inst.Compression).Describe());
        w.WriteString("Checksum", inst.Checksum ? "CRC32 checksum" : "No checksum");
        WriteStrings(w, "Syncs", inst.Syncs);
        w.WriteBoolean("Versioned", inst.Versioned);
        w.WriteString("KVStore", store.Stores.Describe(inst));
        w.WriteString("LogStore", "no mutation log set");
        w.WritePropertyName("Tags");
        WriteTags(w, inst);
        w.WriteEndObject();
        await infoWriters.WriteAsync(w, ctx, ct);
        w.WriteEndObject();
    }

    public static void WriteTags(Utf8JsonWriter w, InstanceRecord inst)
    {
        if (inst.Tags is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        foreach (var (k, v) in inst.Tags) w.WriteString(k, v);
        w.WriteEndObject();
    }

    public static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}

/// <summary>Writes the type-specific members after <c>Base</c> (<c>Extended</c>, <c>Extents</c>) for each data type.</summary>
public sealed class InstanceInfoWriters
{
    private readonly Dictionary<string, Func<Utf8JsonWriter, Http.InstanceContext, CancellationToken, ValueTask>> _writers = new();

    public void Register(string typeName, Func<Utf8JsonWriter, Http.InstanceContext, CancellationToken, ValueTask> writer) => _writers[typeName] = writer;

    public ValueTask WriteAsync(Utf8JsonWriter w, Http.InstanceContext ctx, CancellationToken ct)
    {
        // Type writers may read data (extents); an instance whose store this server lacks gets metadata only.
        if (_writers.TryGetValue(ctx.Instance.TypeName, out var writer) && ctx.Store.Stores.Has(ctx.Instance)) return writer(w, ctx, ct);
        w.WriteStartObject("Extended");
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}
