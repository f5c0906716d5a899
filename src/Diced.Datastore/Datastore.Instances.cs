using System.Collections.Immutable;
using Diced.Codecs;

namespace Diced.Datastore;

public sealed partial class Datastore
{
    /// <summary>
    /// Creates a data instance from DVID's configuration map (keys lower-cased, values strings), recorded as
    /// created at <paramref name="at"/>. The type validates and normalises its own settings.
    /// </summary>
    public Task<InstanceRecord> CreateInstanceAsync(VersionRef at, IReadOnlyDictionary<string, string> config, CancellationToken ct = default)
    {
        if (!config.TryGetValue("typename", out var typeName) || typeName.Length == 0)
            throw DatastoreException.BadRequest("POST on repo endpoint requires specification of valid 'typename'");
        var type = Types.Find(typeName) ?? throw DatastoreException.BadRequest($"Data type \"{typeName}\" is not supported by current DVID server");
        if (!config.TryGetValue("dataname", out var name) || name.Length == 0)
            throw DatastoreException.BadRequest("POST on repo endpoint requires specification of valid 'dataname'");
        InstanceNames.Validate(name);

        bool versioned = true;
        if (config.TryGetValue("versioned", out var vs))
        {
            versioned = vs.ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw DatastoreException.BadRequest($"'versioned' must be \"true\" or \"false\", got \"{vs}\""),
            };
        }
        CompressionSpec compression;
        try
        {
            compression = config.TryGetValue("compression", out var cs) ? CompressionSpec.Parse(cs) : type.DefaultCompression;
        }
        catch (FormatException e) { throw DatastoreException.BadRequest(e.Message); }
        if (!type.Supports(compression.Kind))
            throw DatastoreException.BadRequest($"Compression \"{compression}\" is not supported by data type {type.Name}");
        bool checksum = false;
        if (config.TryGetValue("checksum", out var cks))
        {
            checksum = cks.ToLowerInvariant() switch
            {
                "none" or "" => false,
                "crc32" => true,
                _ => throw DatastoreException.BadRequest($"Illegal checksum specified: {cks}"),
            };
        }
        ImmutableSortedDictionary<string, string>? tags = null;
        if (config.TryGetValue("tags", out var tagText) && tagText.Length > 0)
        {
            var b = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            foreach (var pair in tagText.Split(','))
            {
                var kv = pair.Split('=', 2);
                if (kv.Length == 2 && kv[0].Trim().Length > 0) b[kv[0].Trim()] = kv[1].Trim();
            }
            tags = b.ToImmutable();
        }
        var settings = type.NormalizeSettings(config, compression);

        return UpdateRepoAsync(at.Repo, (s, mc) =>
        {
            if (s.Nodes[at.Node.VersionId].Locked)
                throw DatastoreException.BadRequest($"New data instance cannot be created on locked node {at.Node.Uuid}");
            if (s.Instances.ContainsKey(name))
                throw DatastoreException.BadRequest($"Data named \"{name}\" already exists in repo (root {s.Root})");
            Diced.Datastore.Types.ImageBlock.ImagePyramid.CheckNames(name, type.Name, settings, s.Instances);
            var now = DateTimeOffset.Now;
            var inst = new InstanceRecord
            {
                Name = name, TypeName = type.Name, DataUuid = Uuids.New(), InstanceId = mc.NextInstanceId(),
                RepoUuid = at.Node.Uuid, Versioned = versioned, Compression = compression.ToString(), Checksum = checksum,
                Tags = tags, Settings = settings, Created = now, Store = Stores.Choose(type.Name, s.Root, name),
            };
            var logLine = TimeFormat.LogLine(now, $"New data instance \"{name}\" of type \"{type.Name}\" with config {FormatConfig(config)}");
            return (s with { Instances = s.Instances.Add(name, inst), Log = s.Log.Add(logLine) }, inst);
        }, ct, needsInstanceId: true);
    }

    private static string FormatConfig(IReadOnlyDictionary<string, string> config)
        => "map[" + string.Join(" ", config.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}:{kv.Value}")) + "]";

    /// <summary>Deletes an instance: its name is free at once; its data is removed in the background.</summary>
    public async Task DeleteInstanceAsync(Repo repo, string name, CancellationToken ct = default)
    {
        uint id = 0;
        string? store = null;
        byte[]? pendingKey = null;
        await UpdateRepoAsync(repo, (s, mc) =>
        {
            if (!s.Instances.TryGetValue(name, out var inst))
                throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");
            id = inst.InstanceId;
            store = inst.Store;
            pendingKey = PendingDeleteKey(id);
            mc.ExtraWrites = b => b.PutOwned(pendingKey, PendingDeleteRecord(inst));
            var line = TimeFormat.LogLine(DateTimeOffset.Now, $"Deleted data instance \"{name}\"");
            return (s with { Instances = s.Instances.Remove(name), Log = s.Log.Add(line) }, true);
        }, ct);
        ScheduleDataDeletion(id, store, pendingKey!);
    }

    /// <summary>
    /// DVID's <c>POST …/sync</c>: records the instances <paramref name="name"/> is synced with, appended to its syncs or,
    /// with <paramref name="replace"/>, instead of them (an empty list with <paramref name="replace"/> removes them all).
    /// Each must exist in the repo, be another instance, and be of a type this one syncs with.
    /// </summary>
    public Task<InstanceRecord> SetSyncsAsync(Repo repo, string name, IReadOnlyList<string> syncs, bool replace, CancellationToken ct = default)
        => UpdateRepoAsync(repo, (s, _) =>
        {
            if (!s.Instances.TryGetValue(name, out var inst))
                throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");
            var type = Types.Get(inst.TypeName);
            if (syncs.Count > 0 && type.SyncsWith.Count == 0)
                throw DatastoreException.BadRequest($"Can't create syncs for instance \"{name}\", which is not syncable");
            foreach (var other in syncs)
            {
                if (!s.Instances.TryGetValue(other, out var target))
                    throw DatastoreException.BadRequest($"issue with requested sync name \"{other}\": invalid data instance name \"{other}\"");
                if (other == name) throw DatastoreException.BadRequest($"data \"{name}\" cannot be synced with itself");
                if (!type.SyncsWith.Contains(target.TypeName))
                    throw DatastoreException.BadRequest($"data \"{name}\" ({inst.TypeName}) cannot sync with \"{other}\" ({target.TypeName}); it syncs with {(type.SyncsWith.Count == 0 ? "no types" : string.Join(", ", type.SyncsWith.Order()))}");
            }
            var next = replace ? syncs.Distinct().ToImmutableList() : inst.Syncs.AddRange(syncs.Where(o => !inst.Syncs.Contains(o)).Distinct());
            var updated = inst with { Syncs = next };
            return (s with { Instances = s.Instances.SetItem(name, updated) }, updated);
        }, ct);

    /// <summary>Replaces an instance's record (type-specific settings, tags, syncs); pyramid level names are checked
    /// against the repo as the change is applied.</summary>
    public Task<InstanceRecord> UpdateInstanceAsync(Repo repo, string name, Func<InstanceRecord, InstanceRecord> change, CancellationToken ct = default)
        => UpdateRepoAsync(repo, (s, _) =>
        {
            if (!s.Instances.TryGetValue(name, out var inst))
                throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");
            var next = change(inst);
            Diced.Datastore.Types.ImageBlock.ImagePyramid.CheckNames(name, next.TypeName, next.Settings, s.Instances);
            return (s with { Instances = s.Instances.SetItem(name, next) }, next);
        }, ct);
}
