using Diced.Datastore.Versioning;
using Diced.Storage;

namespace Diced.Datastore;

/// <summary>One key of an instance that reads differently at two versions.</summary>
public sealed record KeyChange(string Key, string Change);

/// <summary>Diffs between versions: only keys changed by versions that one side descends from and the other does not
/// can differ, so the change records of those versions bound the work.</summary>
public sealed partial class Datastore
{
    public const string Added = "added", Removed = "removed", Modified = "modified";

    /// <summary>
    /// The keys of <paramref name="instance"/> that read differently at <paramref name="to"/> than at
    /// <paramref name="from"/>, in key order: <c>added</c> (absent at <paramref name="from"/>), <c>removed</c> (absent at
    /// <paramref name="to"/>) or <c>modified</c>, each named as the type names its keys.
    /// </summary>
    public async IAsyncEnumerable<KeyChange> DiffAsync(VersionRef from, VersionRef to, InstanceRecord instance,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        if (from.Repo != to.Repo) throw DatastoreException.BadRequest($"{to.Uuid} is in another repo than {from.Uuid}");
        if (!Stores.Has(instance)) throw new DatastoreException($"data \"{instance.Name}\" is in {Stores.Describe(instance)}, which this server does not have", ErrorKind.Unavailable);
        var a = from.Repo.AncestryOf(from.Node.VersionId);
        var b = to.Repo.AncestryOf(to.Node.VersionId);
        var versions = a.Versions.Where(v => !b.Contains(v)).Concat(b.Versions.Where(v => !a.Contains(v)));
        var type = Types.Get(instance.TypeName);
        var candidates = (await ChangedKeysAsync(instance, versions, ct)).Where(k => type.ShowsInDiff(k)).Order(KeyOrder.Comparer).ToList();
        var atFrom = DataAt(from, instance);
        var atTo = DataAt(to, instance);
        foreach (var tkey in candidates)
        {
            var before = await atFrom.GetAsync(tkey, ct);
            var after = await atTo.GetAsync(tkey, ct);
            if (SameValue(before, after)) continue;
            yield return new KeyChange(type.DescribeKey(tkey), before is null ? Added : after is null ? Removed : Modified);
        }
    }
}
