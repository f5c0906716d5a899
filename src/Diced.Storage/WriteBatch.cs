namespace Diced.Storage;

/// <summary>
/// A list of puts and deletes applied atomically by <see cref="IKeyValueStore.WriteAsync"/>, with optional
/// conditions that <see cref="IKeyValueStore.TryWriteAsync"/> checks before applying any of it.
/// </summary>
public sealed class WriteBatch
{
    private readonly List<(byte[] Key, byte[]? Value)> _ops = new();
    private readonly List<WriteCondition> _conditions = new();

    /// <summary>Operations in order; a null value is a delete.</summary>
    public IReadOnlyList<(byte[] Key, byte[]? Value)> Operations => _ops;

    /// <summary>What must still hold when the batch is applied.</summary>
    public IReadOnlyList<WriteCondition> Conditions => _conditions;

    public int Count => _ops.Count;

    /// <summary>Bytes of keys and values (for memory budgets and logs).</summary>
    public long Bytes { get; private set; }

    public WriteBatch Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => PutOwned(key.ToArray(), value.ToArray());

    /// <summary>Adds a put that takes ownership of both arrays (no copy).</summary>
    public WriteBatch PutOwned(byte[] key, byte[] value)
    {
        _ops.Add((key, value));
        Bytes += key.Length + value.Length;
        return this;
    }

    public WriteBatch Delete(ReadOnlySpan<byte> key)
    {
        _ops.Add((key.ToArray(), null));
        Bytes += key.Length;
        return this;
    }

    /// <summary>
    /// Requires <paramref name="key"/> to still have <paramref name="tag"/> (null: to be absent) when the batch is
    /// applied. <paramref name="current"/> is the value read with that tag: object stores restore it if they must
    /// abandon a batch they had begun to apply.
    /// </summary>
    public WriteBatch Expect(byte[] key, string? tag, byte[]? current)
    {
        _conditions.Add(new WriteCondition(key, tag, current));
        return this;
    }
}

/// <summary>A precondition of a <see cref="WriteBatch"/>: the key's tag (null: absent) and the value read with it.</summary>
public readonly record struct WriteCondition(byte[] Key, string? Tag, byte[]? Current);
