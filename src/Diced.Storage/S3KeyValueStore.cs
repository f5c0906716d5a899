using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
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

/// <summary>The object operations of an S3-compatible service, under <see cref="ObjectKeyValueStore"/>.</summary>
public sealed class S3KeyValueStore : ObjectKeyValueStore
{
    private const string WriteIdHeader = "x-amz-meta-diced-write";
    private readonly IAmazonS3 _s3;
    private readonly string _bucket;
    private readonly S3StoreOptions _options;
    private readonly S3ObjectReader _reader;

    private S3KeyValueStore(IAmazonS3 s3, S3ObjectReader reader, string bucket, string prefix, S3StoreOptions options) : base(prefix, options.Parallelism)
    {
        _s3 = s3;
        _reader = reader;
        _bucket = bucket;
        _options = options;
    }

    public override string Description => $"s3 @ s3://{_bucket}/{Prefix}";

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
        credentials ??= await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(config);
        var client = new AmazonS3Client(credentials, config);
        var reader = new S3ObjectReader(bucket, endpoint, region, config.ForcePathStyle, credentials);
        var store = new S3KeyValueStore(client, reader, bucket, prefix, options);
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

    protected override async Task<TaggedValue?> GetObjectAsync(string name, CancellationToken ct)
    {
        TaggedValue? result = null;
        await _reader.ReadAsync(name, 0, (bytes, etag, _) => result = new TaggedValue(bytes.ToArray(), etag ?? ""), ct);
        return result;
    }

    protected override Task<bool> ReadObjectAsync<TState>(string name, TState state, System.Buffers.ReadOnlySpanAction<byte, TState> reader, CancellationToken ct)
        => _reader.ReadAsync(name, (state, reader), static (bytes, _, s) => s.reader(bytes.Span, s.state), ct);

    protected override async Task<string?> PutObjectAsync(string name, byte[] data, bool conditional, string? expectedTag, CancellationToken ct)
    {
        var writeId = Guid.NewGuid().ToString("N"); // tells our own write apart from an identical one by another writer
        var request = new PutObjectRequest
        {
            BucketName = _bucket, Key = name, InputStream = new MemoryStream(data, writable: false),
            UseChunkEncoding = !_options.CompatibleChecksums, AutoCloseStream = true,
        };
        if (conditional)
        {
            request.Metadata[WriteIdHeader] = writeId;
            if (expectedTag is null) request.IfNoneMatch = "*";
            else request.IfMatch = expectedTag.Trim('"'); // Ceph compares the bare ETag; AWS accepts it too
        }
        try
        {
            return (await _s3.PutObjectAsync(request, ct)).ETag;
        }
        catch (AmazonS3Exception e) when (conditional && e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            // The SDK retries a request whose response was lost; the retry then fails its precondition against our
            // own first attempt. If the stored object carries our write id, the write did happen.
            try
            {
                var head = await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = name }, ct);
                return head.Metadata[WriteIdHeader] == writeId ? head.ETag : null;
            }
            catch (AmazonS3Exception h) when (h.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }
    }

    protected override Task DeleteObjectAsync(string name, CancellationToken ct)
        => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = name }, ct);

    protected override async Task DeleteObjectsAsync(IReadOnlyList<string> names, CancellationToken ct)
    {
        foreach (var chunk in names.Chunk(1000))
            await Limit(() => _s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = _bucket, Objects = chunk.Select(n => new KeyVersion { Key = n }).ToList() }, ct), ct);
    }

    protected override async IAsyncEnumerable<List<(string Name, string Tag, long Size)>> ListPagesAsync(string prefix, string? startAt,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            // StartAfter is exclusive: start one character earlier (the caller drops names before startAt).
            var startAfter = token is null && startAt is { Length: > 0 } ? startAt[..^1] : null;
            var (objects, next) = await Limit(() => _reader.ListAsync(prefix, startAfter, token, ct), ct);
            yield return objects;
            token = next;
        } while (token is not null);
    }
    public override ValueTask DisposeAsync()
    {
        _s3.Dispose();
        _reader.Dispose();
        return ValueTask.CompletedTask;
    }
}
