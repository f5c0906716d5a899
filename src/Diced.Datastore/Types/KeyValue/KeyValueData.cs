using System.Text;
using Diced.Codecs;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.KeyValue;

/// <summary>Operations of a keyvalue instance at one version. Values are stored in the instance's codec.</summary>
public sealed class KeyValueData(VersionedData data, string user = "")
{
    internal const byte KeyClass = 177; // DVID's keyvalue TKey class
    private const byte LogClass = 0xF1; // the mutation log, in time order

    private readonly CompressionSpec _compression = CompressionSpec.Parse(data.Instance.Compression);

    public VersionedData Data => data;

    public static byte[] TypeKey(string key) => DataKeys.EscapeString(Encoding.UTF8.GetBytes(key), KeyClass);

    private static string KeyOf(byte[] tkey) => Encoding.UTF8.GetString(DataKeys.UnescapeString(tkey));

    /// <summary>The value of <paramref name="key"/>, or null when absent.</summary>
    public async ValueTask<byte[]?> GetAsync(string key, CancellationToken ct = default)
    {
        var stored = await data.GetAsync(TypeKey(key), ct);
        return stored is null ? null : Decode(stored);
    }

    /// <summary>
    /// The value of <paramref name="key"/> decoded straight from the store into a pooled buffer (no intermediate
    /// copies for uncompressed and LZ4 values), or null when absent. Dispose the result to return the buffer.
    /// </summary>
    public async ValueTask<PooledValue?> GetPooledAsync(string key, CancellationToken ct = default)
    {
        var tkey = TypeKey(key);
        var end = (byte[])tkey.Clone();
        end[^1] = 0x02; // escaped keys end 0x00 0x01: this bounds exactly this key
        PooledValue? result = null;
        await data.ReadVisibleAsync(tkey, end, 0, (stored, _) =>
        {
            int n = ValueEnvelopeInto.DeclaredLength(stored);
            if (n < 0)
            {
                var all = Decode(stored.ToArray());
                result = new PooledValue(all, all.Length, pooled: false);
                return;
            }
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(n, 1));
            try { ValueEnvelopeInto.Decode(stored, buffer.AsSpan(0, n)); }
            catch (InvalidDataException e)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                throw new DatastoreException($"stored value is corrupt: {e.Message}", ErrorKind.BadRequest, e);
            }
            result = new PooledValue(buffer, n, pooled: true);
        }, ct);
        return result;
    }

    public ValueTask<bool> ExistsAsync(string key, CancellationToken ct = default) => data.ExistsAsync(TypeKey(key), ct);

    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> value, CancellationToken ct = default)
    {
        var stored = Encode(value.Span);
        await data.WriteAsync(tx =>
        {
            tx.Put(TypeKey(key), stored);
            Log(tx, "postkv", key, value.Length);
            return Task.FromResult(0);
        }, ct);
    }

    /// <summary>Logs a change as DVID does (<c>{"Action", "Bytes", "Key", "Timestamp", "UUID"}</c>), in its transaction.</summary>
    private void Log(Transaction tx, string action, string key, int? bytes)
    {
        var record = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["Action"] = action, ["Key"] = key, ["Timestamp"] = TimeFormat.GoTime(DateTimeOffset.UtcNow), ["UUID"] = data.Node.Uuid,
        };
        if (bytes is { } n) record["Bytes"] = n;
        if (user.Length > 0) record["User"] = user;
        tx.Put(MutationLog.TimeOrderedKey(LogClass), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record));
    }

    /// <summary>The log records visible here (this version and its ancestors), oldest first.</summary>
    public Task<List<System.Text.Json.JsonElement>> MutationsAsync(CancellationToken ct = default) => MutationLog.ReadAsync(data, LogClass, ct);

    /// <summary>The records of this version and its first parents down to <paramref name="from"/>, newest version first.</summary>
    public async Task<List<System.Text.Json.JsonElement>> MutationsSinceAsync(uint from, CancellationToken ct = default)
        => MutationLog.InVersions(await MutationsAsync(ct), Datastore.FirstParentChain(data.Repo.State, data.Node.VersionId, from));

    /// <summary>Stores several pairs atomically.</summary>
    public async ValueTask PutManyAsync(IEnumerable<(string Key, byte[] Value)> pairs, CancellationToken ct = default)
        => await data.WriteAsync(tx =>
        {
            foreach (var (k, v) in pairs)
            {
                tx.Put(TypeKey(k), Encode(v));
                Log(tx, "postkv", k, v.Length);
            }
            return Task.FromResult(0);
        }, ct);

    public async ValueTask DeleteAsync(string key, CancellationToken ct = default)
        => await data.WriteAsync(tx =>
        {
            tx.Delete(TypeKey(key));
            Log(tx, "delete", key, null);
            return Task.FromResult(0);
        }, ct);

    /// <summary>Visible keys with <paramref name="first"/> ≤ key ≤ <paramref name="last"/> (null = unbounded), ascending.</summary>
    public async IAsyncEnumerable<string> KeysAsync(string? first = null, string? last = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var (tk, _) in data.ScanAsync(RangeStart(first), RangeEnd(last), keysOnly: true, ct))
            yield return KeyOf(tk);
    }

    /// <summary>Visible (key, value) pairs with <paramref name="first"/> ≤ key ≤ <paramref name="last"/>, ascending.</summary>
    public async IAsyncEnumerable<(string Key, byte[] Value)> RangeAsync(string first, string last,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var (tk, v) in data.ScanAsync(RangeStart(first), RangeEnd(last), keysOnly: false, ct))
            yield return (KeyOf(tk), Decode(v));
    }

    private static byte[] RangeStart(string? first) => first is null ? [KeyClass] : TypeKey(first);

    // The inclusive end: everything up to and including last's own type key. Escaped keys end 0x00 0x01, and any
    // longer key with last as prefix continues with a byte >= 0x01 after a 0x00 0xFF escape or a nonzero byte, so
    // bumping the terminator to 0x00 0x02 bounds exactly the keys <= last.
    private static byte[] RangeEnd(string? last)
    {
        if (last is null) return [KeyClass + 1];
        var tk = TypeKey(last);
        tk[^1] = 0x02;
        return tk;
    }

    private byte[] Encode(ReadOnlySpan<byte> value)
    {
        // An empty value is stored as a one-byte "none" envelope so that it reads back as empty, not absent.
        if (value.IsEmpty) return [0];

        return ValueEnvelope.Encode(value, _compression, data.Instance.Checksum);
    }

    private static byte[] Decode(byte[] stored)
    {
        try { return ValueEnvelope.Decode(stored); }
        catch (InvalidDataException e) { throw new DatastoreException($"stored value is corrupt: {e.Message}", ErrorKind.BadRequest, e); }
    }
}

/// <summary>A decoded value in a (usually pooled) buffer; dispose to return the buffer.</summary>
public sealed class PooledValue(byte[] buffer, int length, bool pooled) : IDisposable
{
    private byte[]? _buffer = buffer;

    public int Length { get; } = length;

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(PooledValue))).AsMemory(0, Length);

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b is not null && pooled) System.Buffers.ArrayPool<byte>.Shared.Return(b);
    }
}
