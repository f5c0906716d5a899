using System.Collections.Immutable;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>
/// Meshes Neuroglancer can draw with no external pipeline. Its <c>dvid://</c> source reads a labelmap's meshes from a
/// keyvalue instance named <c>{labels}_meshes</c> (keys <c>{body}.ngmesh</c>). Until a lab creates one, every labelmap
/// and labelarray has a generated one: listed in the repo (a keyvalue instance tagged as generated), answering
/// <c>{body}.ngmesh</c> with a mesh built from the body's label index, and turned into a real keyvalue instance by the
/// first upload. In a real <c>{labels}_meshes</c> instance an uploaded mesh wins; a body without one is built.
/// </summary>
public sealed partial class Datastore
{
    public const string MeshesSuffix = "_meshes";
    public const string GeneratedTag = "diced-generated";
    public const int MaxMeshTriangles = 200_000;

    /// <summary>Whether <c>{labels}_meshes</c> instances are generated (<c>Diced:GeneratedMeshes</c>).</summary>
    public bool GeneratedMeshes { get; set; } = true;

    public BodyMeshCache Meshes { get; } = new();

    /// <summary>The label instance whose meshes <paramref name="name"/> would hold (<c>{labels}_meshes</c>), if it is one with an index.</summary>
    public static InstanceRecord? MeshSourceOf(RepoRecord s, string name)
        => name.EndsWith(MeshesSuffix, StringComparison.Ordinal) && s.Instances.TryGetValue(name[..^MeshesSuffix.Length], out var labels)
            && labels.TypeName is "labelmap" or "labelarray" ? labels : null;

    /// <summary>The generated <c>{labels}_meshes</c> instances of a repo: one per labelmap or labelarray without a real one.</summary>
    public IEnumerable<InstanceRecord> GeneratedMeshInstances(RepoRecord s)
    {
        if (!GeneratedMeshes) yield break;
        foreach (var labels in s.Instances.Values.Where(i => i.TypeName is "labelmap" or "labelarray").OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var name = labels.Name + MeshesSuffix;
            if (s.Instances.ContainsKey(name) || InstanceNames.Problem(name) is not null) continue;
            yield return new InstanceRecord
            {
                Name = name, TypeName = "keyvalue", DataUuid = Uuids.Derived(labels.DataUuid, MeshesSuffix), InstanceId = 0, RepoUuid = labels.RepoUuid,
                Versioned = labels.Versioned, Compression = "none", Syncs = [labels.Name], Created = labels.Created, Store = labels.Store,
                Tags = ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal).Add(GeneratedTag, $"meshes built from {labels.Name}"),
            };
        }
    }

    /// <summary>The generated instance <paramref name="name"/> at <paramref name="at"/>, or null when there is none.</summary>
    public InstanceRecord? GeneratedMeshInstance(VersionRef at, string name)
        => GeneratedMeshInstances(at.Repo.State).FirstOrDefault(i => i.Name == name);

    /// <summary>
    /// The mesh of <c>{body}.ngmesh</c> (<paramref name="key"/>) built from <paramref name="labels"/> at <paramref name="at"/>,
    /// or null when the key names no body there.
    /// </summary>
    public async Task<byte[]?> GeneratedMeshAsync(VersionRef at, InstanceRecord labels, string key, CancellationToken ct = default)
    {
        if (MeshBodyOf(key) is not { } body) return null;
        var mesh = await Meshes.GetAsync(LabelVolumeOf(DataAt(at, labels)), body, supervoxels: false, MaxMeshTriangles, ct);
        return mesh?.Mesh;
    }

    /// <summary>Whether body <c>{body}.ngmesh</c> (<paramref name="key"/>) exists at <paramref name="at"/>, without building its mesh.</summary>
    public async Task<bool> GeneratedMeshExistsAsync(VersionRef at, InstanceRecord labels, string key, CancellationToken ct = default)
        => MeshBodyOf(key) is { } body && await LabelVolumeOf(DataAt(at, labels)).IndexFingerprintAsync(body, false, ct) is not null;

    /// <summary>The body a mesh key names (<c>{body}.ngmesh</c>, body not 0), or null.</summary>
    private static ulong? MeshBodyOf(string key)
        => key.EndsWith(".ngmesh", StringComparison.Ordinal)
           && ulong.TryParse(key.AsSpan(0, key.Length - ".ngmesh".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var body)
           && body != 0 ? body : null;

    /// <summary>Makes the generated instance <paramref name="name"/> a real keyvalue instance (the first upload does).</summary>
    public async Task<InstanceRecord> MaterializeMeshInstanceAsync(VersionRef at, string name, CancellationToken ct = default)
    {
        var generated = GeneratedMeshInstance(at, name) ?? throw DatastoreException.BadRequest($"invalid data instance name \"{name}\"");
        try
        {
            return await CreateInstanceAsync(at, new Dictionary<string, string>
            {
                ["typename"] = "keyvalue", ["dataname"] = name, ["versioned"] = generated.Versioned ? "true" : "false",
            }, ct);
        }
        catch (DatastoreException) when (at.Repo.State.Instances.TryGetValue(name, out var made))
        {
            return made; // another request made it first
        }
    }

    /// <summary>The mesh cache's follower of a label instance at a version.</summary>
    private ILabelFollower MeshFollowerOf(VersionedData labels) => Meshes.FollowerFor(labels);
}
