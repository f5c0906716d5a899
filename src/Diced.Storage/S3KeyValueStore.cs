using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Diced.Storage;

/// <summary>Settings of an S3-compatible backend (AWS S3, Ceph radosgw, MinIO, GCS interoperability).</summary>
public sealed record S3StoreOptions
{
    /// <summary>Service endpoint; null uses AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS's own.</summary>
    public string? Endpoint { get; init; }
    /// <summary>Region; null uses AWS_REGION / AWS_DEFAULT_REGION, else us-east-1.</summary>
    public string? Region { get; init; }
    /// <summary>Path-style addressing (bucket in the path), which most non-AWS services need.</summary>
    public bool? ForcePathStyle { get; init; }
    /// <summary>Send plain payloads instead of aws-chunked ones and only the checksums a request requires
    /// (older Ceph and GCS interoperability reject the newer defaults).</summary>
    public bool CompatibleChecksums { get; init; } = true;
    /// <summary>Create the bucket when it does not exist (otherwise a missing bucket is an error at start).</summary>
    public bool CreateBucket { get; init; }
    /// <summary>Concurrent object requests one scan or batch may have in flight.</summary>
    public int Parallelism { get; init; } = 16;
    /// <summary>Retries of a failed request (the SDK backs off between them).</summary>
    public int MaxRetries { get; init; } = 5;
}

/// <summary>
/// An ordered key-value store over an S3 bucket: one object per key, named <c>prefix/k/&lt;hex of key&gt;</c> so that
/// S3's lexicographic listing is the store's key order. Batches are made atomic against crashes with a journal object
/// (<c>prefix/t/…</c>) written first and removed last; journals left by a crash are replayed when the store opens.
/// </summary>
public sealed class S3KeyValueStore : IKeyValueStore
{
    private readonly IAmazonS3 _s3;
    private readonly string _bucket, _prefix, _dataPrefix, _journalPrefix;
    private readonly S3StoreOptions _options;
    private readonly SemaphoreSlim _requests;

    private S3KeyValueStore(IAmazonS3 s3, string bucket, string prefix, S3StoreOptions options)
    {
        _s3 = s3;
        _bucket = bucket;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        _dataPrefix = _prefix + "k/";
        _journalPrefix = _prefix + "t/";
        _options = options;
        _requests = new SemaphoreSlim(Math.Max(1, options.Parallelism * 4));
    }

    public string Description => $"s3 @ s3://{_bucket}/{_prefix}";

    public bool IsShared => true;

    public int ReadParallelism => _options.Parallelism;

    /// <summary>Object requests made so far (for benchmarks).</summary>
    public long RequestCount => Interlocked.Read(ref _requestCount);

    private long _requestCount;

    public async ValueTask<TaggedValue?> GetTaggedAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
    {
        var name = ObjectName(key.Span);
        return await Limit(async () =>
        {
            try
            {
                using var r = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = name }, ct);
                var buffer = GC.AllocateUninitializedArray<byte>(checked((int)r.ContentLength));
                await r.ResponseStream.ReadExactlyAsync(buffer, ct);
                return new TaggedValue(buffer, r.ETag);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return (TaggedValue?)null;
            }
        }, ct);
    }

    public async ValueTask<string?> PutIfAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, string? expectedTag, CancellationToken ct = default)
    {
        var name = ObjectName(key.Span);
        var body = value.ToArray();
        var writeId = Guid.NewGuid().ToString("N"); // tells our own write apart from an identical one by another writer
        try
        {
            return await Limit(async () =>
            {
                var request = new PutObjectRequest
                {
                    BucketName = _bucket, Key = name, InputStream = new MemoryStream(body, writable: false),
                    UseChunkEncoding = !_options.CompatibleChecksums, AutoCloseStream = true,
                };
                request.Metadata[WriteIdHeader] = writeId;
                if (expectedTag is null) request.IfNoneMatch = "*";
                else request.IfMatch = expectedTag.Trim('"'); // Ceph compares the bare ETag; AWS accepts it too
                var r = await _s3.PutObjectAsync(request, ct);
                return r.ETag;
            }, ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            // A retried request whose first attempt succeeded (its response was lost) fails its precondition
            // against our own write: if the stored object carries our write id, the write did happen.
            try
            {
                var head = await Limit(() => _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = name }, ct), ct);
                return head.Metadata[WriteIdHeader] == writeId ? head.ETag : null;
            }
            catch (AmazonS3Exception h) when (h.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }
    }

    private const string WriteIdHeader = "x-amz-meta-diced-write";

    /// <summary>Connects to <c>s3://bucket/prefix</c> with the standard AWS credential chain, checks the bucket, replays journals.</summary>
    public static async Task<S3KeyValueStore> OpenAsync(string bucket, string prefix, S3StoreOptions options, AWSCredentials? credentials = null, CancellationToken ct = default)
    {
        var endpoint = options.Endpoint ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL");
        var region = options.Region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") ?? "us-east-1";
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle ?? endpoint is not null,
            MaxErrorRetry = options.MaxRetries,
            RetryMode = RequestRetryMode.Standard,
            Timeout = TimeSpan.FromMinutes(2),
        };
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = region;
        }
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        if (options.CompatibleChecksums)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        var client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        var store = new S3KeyValueStore(client, bucket, prefix, options);
        await store.EnsureBucketAsync(ct);
        await store.ReplayJournalsAsync(ct);
        return store;
    }

    private async Task EnsureBucketAsync(CancellationToken ct)
    {
        try
        {
            await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            if (!_options.CreateBucket)
                throw new IOException($"S3 bucket \"{_bucket}\" does not exist; create it or set CreateBucket", e);
            await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, ct);
        }
    }

    /// <summary>The object name of a key: hex keeps S3's listing order equal to bytewise key order.</summary>
    public string ObjectName(ReadOnlySpan<byte> key) => _dataPrefix + Convert.ToHexStringLower(key);

    private byte[] KeyOf(string objectName) => Convert.FromHexString(objectName.AsSpan(_dataPrefix.Length));

    private async Task<T> Limit<T>(Func<Task<T>> request, CancellationToken ct)
    {
        await _requests.WaitAsync(ct);
        Interlocked.Increment(ref _requestCount);
        try { return await request(); }
        finally { _requests.Release(); }
    }

    public async ValueTask<byte[]?> GetAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => await GetObjectAsync(ObjectName(key.Span), ct);

    private Task<byte[]?> GetObjectAsync(string name, CancellationToken ct) => Limit(async () =>
    {
        try
        {
            using var r = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = name }, ct);
            var buffer = GC.AllocateUninitializedArray<byte>(checked((int)r.ContentLength));
            await r.ResponseStream.ReadExactlyAsync(buffer, ct);
            return buffer;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }, ct);

    public async ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken ct = default)
        => await PutObjectAsync(ObjectName(key.Span), value.ToArray(), ct);

    private Task<bool> PutObjectAsync(string name, byte[] value, CancellationToken ct) => Limit(async () =>
    {
        await _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket, Key = name, InputStream = new MemoryStream(value, writable: false),
            UseChunkEncoding = !_options.CompatibleChecksums, AutoCloseStream = true,
        }, ct);
        return true;
    }, ct);

    public async ValueTask DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken ct = default)
        => await DeleteObjectAsync(ObjectName(key.Span), ct);

    private Task<bool> DeleteObjectAsync(string name, CancellationToken ct) => Limit(async () =>
    {
        await _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = name }, ct);
        return true;
    }, ct);

    public async ValueTask WriteAsync(WriteBatch batch, CancellationToken ct = default)
    {
        if (batch.Count == 0) return;
        if (batch.Count == 1)
        {
            await ApplyAsync(batch.Operations, ct);
            return;
        }
        // Journal first: a crash after this point is completed by the next open; before it, nothing happened.
        var journal = _journalPrefix + $"{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid():N}";
        await PutObjectAsync(journal, EncodeJournal(batch.Operations), ct);
        await ApplyAsync(batch.Operations, ct);
        await DeleteObjectAsync(journal, ct);
    }

    /// <summary>Applies operations; the last operation on a key wins, operations on different keys run in parallel.</summary>
    private async Task ApplyAsync(IReadOnlyList<(byte[] Key, byte[]? Value)> ops, CancellationToken ct)
    {
        var last = new Dictionary<string, byte[]?>();
        foreach (var (k, v) in ops) last[ObjectName(k)] = v;
        await Parallel.ForEachAsync(last, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = ct }, async (op, token) =>
        {
            if (op.Value is null) await DeleteObjectAsync(op.Key, token);
            else await PutObjectAsync(op.Key, op.Value, token);
        });
    }

    private sealed record JournalEntry(string K, string? V);

    private static byte[] EncodeJournal(IReadOnlyList<(byte[] Key, byte[]? Value)> ops)
        => JsonSerializer.SerializeToUtf8Bytes(ops.Select(o => new JournalEntry(Convert.ToBase64String(o.Key), o.Value is null ? null : Convert.ToBase64String(o.Value))).ToList());

    private async Task ReplayJournalsAsync(CancellationToken ct)
    {
        foreach (var name in await ListNamesAsync(_journalPrefix, null, ct))
        {
            var bytes = await GetObjectAsync(name, ct);
            if (bytes is null) continue;
            var entries = JsonSerializer.Deserialize<List<JournalEntry>>(bytes)!;
            await ApplyAsync(entries.Select(e => (Convert.FromBase64String(e.K), e.V is null ? null : Convert.FromBase64String(e.V))).ToList(), ct);
            await DeleteObjectAsync(name, ct);
        }
    }

    /// <summary>Object names under <paramref name="prefix"/>, in order, starting after <paramref name="startAfter"/>.</summary>
    private async Task<List<string>> ListNamesAsync(string prefix, string? startAfter, CancellationToken ct, Func<string, bool>? stop = null)
    {
        var names = new List<string>();
        await foreach (var page in ListPagesAsync(prefix, startAfter, ct))
        {
            foreach (var (n, _) in page)
            {
                if (stop?.Invoke(n) == true) return names;
                names.Add(n);
            }
        }
        return names;
    }

    private async IAsyncEnumerable<List<(string Name, string ETag)>> ListPagesAsync(string prefix, string? startAfter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, MaxKeys = 1000, ContinuationToken = token };
            if (token is null && startAfter is not null) request.StartAfter = startAfter;
            var r = await Limit(() => _s3.ListObjectsV2Async(request, ct), ct);
            yield return (r.S3Objects ?? []).Select(o => (o.Key, o.ETag)).ToList();
            token = r.IsTruncated == true ? r.NextContinuationToken : null;
        } while (token is not null);
    }

    public async IAsyncEnumerable<KeyValue> ScanAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, bool keysOnly = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var startName = ObjectName(start.Span);
        var endName = end.Length > 0 ? ObjectName(end.Span) : null;
        // StartAfter is exclusive: start one character earlier and drop what sorts before the start key.
        string? startAfter = start.Length > 0 ? startName[..^1] : null;
        await foreach (var page in ListPagesAsync(_dataPrefix, startAfter, ct))
        {
            var names = new List<string>(page.Count);
            var tags = new List<string>(page.Count);
            bool done = false;
            foreach (var (n, etag) in page)
            {
                if (string.CompareOrdinal(n, startName) < 0) continue;
                if (endName is not null && string.CompareOrdinal(n, endName) >= 0) { done = true; break; }
                names.Add(n);
                tags.Add(etag);
            }
            if (keysOnly)
            {
                for (int i = 0; i < names.Count; i++) yield return new KeyValue(KeyOf(names[i]), Array.Empty<byte>(), tags[i]);
            }
            else
            {
                // Fetch the page's values in parallel, yield them in key order; a key deleted meanwhile is skipped.
                var values = new byte[]?[names.Count];
                await Parallel.ForAsync(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = ct },
                    async (i, token) => values[i] = await GetObjectAsync(names[i], token));
                for (int i = 0; i < names.Count; i++)
                    if (values[i] is { } v) yield return new KeyValue(KeyOf(names[i]), v);
            }
            if (done) yield break;
        }
    }

    public async ValueTask DeleteRangeAsync(ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end, CancellationToken ct = default)
    {
        var batch = new List<KeyVersion>(1000);
        await foreach (var kv in ScanAsync(start, end, keysOnly: true, ct))
        {
            batch.Add(new KeyVersion { Key = ObjectName(kv.Key) });
            if (batch.Count == 1000) await FlushDeletes();
        }
        await FlushDeletes();

        async Task FlushDeletes()
        {
            if (batch.Count == 0) return;
            var objects = batch.ToList();
            batch.Clear();
            await Limit(() => _s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = _bucket, Objects = objects }, ct), ct);
        }
    }

    public ValueTask DisposeAsync()
    {
        _s3.Dispose();
        return ValueTask.CompletedTask;
    }
}
