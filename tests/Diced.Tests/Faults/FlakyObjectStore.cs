using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Diced.Storage;

namespace Diced.Tests.Faults;

/// <summary>
/// An object store in memory whose requests fail now and then, before they take effect ("request lost") or after
/// ("answer lost"), like a flaky network in front of S3. For testing <see cref="ObjectKeyValueStore"/>'s batches.
/// </summary>
public sealed class FlakyObjectStore(double failBefore, double failAfter, int seed) : ObjectKeyValueStore("flaky", 4)
{
    private readonly ConcurrentDictionary<string, (byte[] Data, string Tag)> _objects = new();
    private readonly object _sync = new();
    private readonly Random _rng = new(seed);
    private long _tags;

    public bool Failing { get; set; } = true;
    public int Injected;

    public override string Description => "flaky memory objects";

    /// <summary>Object names under a prefix (journals: <c>flaky/t/</c>).</summary>
    public IEnumerable<string> Names(string prefix) => _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal));

    public Task ReplayAsync() => ReplayJournalsAsync(CancellationToken.None);

    private void Maybe(double p, string what)
    {
        if (!Failing) return;
        lock (_sync) if (_rng.NextDouble() >= p) return;
        Interlocked.Increment(ref Injected);
        throw new TransientStoreException($"injected: {what}");
    }

    protected override Task<TaggedValue?> GetObjectAsync(string name, CancellationToken ct)
    {
        Maybe(failBefore, "get");
        return Task.FromResult(_objects.TryGetValue(name, out var o) ? new TaggedValue(o.Data, o.Tag) : null);
    }

    protected override Task<string?> PutObjectAsync(string name, byte[] data, bool conditional, string? expectedTag, CancellationToken ct)
    {
        Maybe(failBefore, "put");
        string? tag;
        lock (_objects)
        {
            var current = _objects.TryGetValue(name, out var o) ? o.Tag : null;
            if (conditional && current != expectedTag) tag = null;
            else
            {
                tag = $"t{Interlocked.Increment(ref _tags)}";
                _objects[name] = (data.ToArray(), tag);
            }
        }
        Maybe(failAfter, "put answer");
        return Task.FromResult(tag);
    }

    protected override Task DeleteObjectAsync(string name, CancellationToken ct)
    {
        Maybe(failBefore, "delete");
        lock (_objects) _objects.TryRemove(name, out _);
        Maybe(failAfter, "delete answer");
        return Task.CompletedTask;
    }

    protected override async IAsyncEnumerable<List<(string Name, string Tag, long Size)>> ListPagesAsync(string prefix, string? startAt, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        yield return _objects.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && (startAt is null || string.CompareOrdinal(kv.Key, startAt) >= 0))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value.Tag, (long)kv.Value.Data.Length)).ToList();
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
