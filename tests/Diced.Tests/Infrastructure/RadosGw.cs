using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Diced.Storage;

namespace Diced.Tests.Infrastructure;

/// <summary>
/// A real S3 service for the tests: the endpoint in DICED_TEST_S3_ENDPOINT if set (with AWS_ACCESS_KEY_ID and
/// AWS_SECRET_ACCESS_KEY), otherwise a single-node Ceph radosgw started by <c>scripts/radosgw.sh</c> for this test run
/// (installed from Debian's packages first if missing).
/// </summary>
public sealed class RadosGwFixture : IAsyncLifetime
{
    public const string Bucket = "diced-test";
    private string? _dir;

    public string Endpoint { get; private set; } = "";
    public string AccessKey { get; private set; } = "DICEDTESTKEY";
    public string SecretKey { get; private set; } = "DICEDTESTSECRET";

    private static string Script => Path.Combine(RepoRoot, "scripts", "radosgw.sh");

    public static string RepoRoot
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(dir, "Diced.Server.sln"))) dir = Path.GetDirectoryName(dir.TrimEnd('/'))!;
            return dir;
        }
    }

    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("DICED_TEST_S3_ENDPOINT");
        if (!string.IsNullOrEmpty(configured))
        {
            Endpoint = configured;
            AccessKey = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") ?? AccessKey;
            SecretKey = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") ?? SecretKey;
            return;
        }
        await Run("install");
        _dir = TempDir.Create("diced-rgw");
        int port = ServerProcess.FreePort();
        Endpoint = (await Run("start", _dir, port.ToString())).Trim().Split('\n')[^1];
    }

    private static async Task<string> Run(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"scripts/radosgw.sh {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr}\n" +
                "The S3 tests need Ceph's radosgw (Debian packages ceph-mon ceph-osd radosgw ceph-common), or DICED_TEST_S3_ENDPOINT.");
        return await stdout;
    }

    private DicedFactory? _server;

    /// <summary>One Diced server whose store is a prefix of the test bucket, shared by the S3 HTTP test classes.</summary>
    public DicedFactory Server
    {
        get
        {
            if (_server is not null) return _server;
            var f = new DicedFactory();
            f.Settings["Diced:Data"] = $"s3://{Bucket}/http-{Guid.NewGuid():N}";
            f.Settings["Diced:S3:Endpoint"] = Endpoint;
            f.Settings["Diced:S3:AccessKey"] = AccessKey;
            f.Settings["Diced:S3:SecretKey"] = SecretKey;
            f.Settings["Diced:S3:Region"] = "us-east-1";
            f.Settings["Diced:S3:CreateBucket"] = "true";
            return _server = f;
        }
    }

    public async Task DisposeAsync()
    {
        _server?.Dispose();
        if (_dir is null) return;
        await Run("stop", _dir);
        TempDir.Delete(_dir);
    }

    public S3StoreOptions Options => new() { Endpoint = Endpoint, CreateBucket = true, Region = "us-east-1" };

    public AWSCredentials Credentials => new BasicAWSCredentials(AccessKey, SecretKey);

    /// <summary>A store over its own prefix of the test bucket.</summary>
    public async Task<S3KeyValueStore> OpenStoreAsync(string prefix) => await S3KeyValueStore.OpenAsync(Bucket, prefix, Options, Credentials);

    /// <summary>Writes an object directly (to simulate what another process left behind).</summary>
    public async Task PutRawAsync(string name, byte[] body)
    {
        using var s3 = new AmazonS3Client(Credentials, new AmazonS3Config
        {
            ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED, ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = name, InputStream = new MemoryStream(body), UseChunkEncoding = false });
    }
}

[CollectionDefinition(Name)]
public sealed class RadosGwCollection : ICollectionFixture<RadosGwFixture>
{
    public const string Name = "radosgw";
}
