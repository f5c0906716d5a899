namespace Diced.Storage;

/// <summary>
/// Conditional writes for stores owned by one process: content-hash tags, checked and written under one lock, so a
/// conditional put or batch never interleaves with another. (Local stores serve metadata and counters this way;
/// volume data is kept consistent by the data model's own locks.)
/// </summary>
public sealed class LocalConditionalWrites
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public static string TagOf(ReadOnlySpan<byte> value) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(value)[..16]);

    public async ValueTask<TaggedValue?> GetTaggedAsync(IKeyValueStore store, ReadOnlyMemory<byte> key, CancellationToken ct)
    {
        var v = await store.GetAsync(key, ct);
        return v is null ? null : new TaggedValue(v, TagOf(v));
    }

    public async ValueTask<string?> PutIfAsync(IKeyValueStore store, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (!await HoldsAsync(store, key, expectedTag, ct)) return null;
            await store.PutAsync(key, value, ct);
            return TagOf(value.Span);
        }
        finally { _gate.Release(); }
    }

    public async ValueTask<bool> TryWriteAsync(IKeyValueStore store, WriteBatch batch, CancellationToken ct)
    {
        if (batch.Conditions.Count == 0)
        {
            await store.WriteAsync(batch, ct);
            return true;
        }
        await _gate.WaitAsync(ct);
        try
        {
            foreach (var c in batch.Conditions)
                if (!await HoldsAsync(store, c.Key, c.Tag, ct)) return false;
            await store.WriteAsync(batch, ct);
            return true;
        }
        finally { _gate.Release(); }
    }

    private static async ValueTask<bool> HoldsAsync(IKeyValueStore store, ReadOnlyMemory<byte> key, string? expectedTag, CancellationToken ct)
    {
        var current = await store.GetAsync(key, ct);
        return (current is null ? null : TagOf(current)) == expectedTag;
    }
}
