namespace Diced.Datastore;

/// <summary>The keys of one instance that more than one parent of a merge changed, differently, since their common ancestors.</summary>
public sealed record MergeConflict(string Instance, string TypeName, IReadOnlyList<string> Keys);

/// <summary>A merge refused because parents changed the same keys differently; answered as a 409 naming them.</summary>
public sealed class MergeConflictException(IReadOnlyList<MergeConflict> conflicts, string? advice = null)
    : DatastoreException($"the parents changed the same data differently since their common ancestors: {Describe(conflicts)}; {advice ?? "resolve with POST /api/repo/{uuid}/resolve"}", ErrorKind.Conflict)
{
    /// <summary>Keys listed per instance in the message (the JSON body lists them all).</summary>
    private const int KeysInMessage = 5;

    public IReadOnlyList<MergeConflict> Conflicts { get; } = conflicts;

    private static string Describe(IReadOnlyList<MergeConflict> conflicts)
        => string.Join("; ", conflicts.Select(c => $"\"{c.Instance}\" ({c.Keys.Count} keys: {string.Join(", ", c.Keys.Take(KeysInMessage))}{(c.Keys.Count > KeysInMessage ? ", …" : "")})"));
}
