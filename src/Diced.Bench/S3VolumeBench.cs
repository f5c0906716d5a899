using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Diced.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Diced.Bench;

/// <summary>
/// GET raw 256³ uint8 through the server from a real S3 service (a Ceph radosgw started for the run), against the
/// same client fetching the same number of bytes as plain S3 GETs of block-sized objects with the same concurrency.
/// Bar: at least 0.8x. Also reports object requests per 256³ read. Needs scripts/radosgw.sh (root, Debian packages).
/// </summary>
public static class S3VolumeBench
{
    public static async Task RunAsync()
    {
        const int n = 256, rounds = 7, requests = 3, parallelism = 16;
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Diced.Server.sln"))) root = Path.GetDirectoryName(root.TrimEnd('/'))!;
        var script = Path.Combine(root, "scripts", "radosgw.sh");
        var rgwDir = Path.Combine(Path.GetTempPath(), $"diced-bench-rgw-{Guid.NewGuid():N}");
        int port = 7900 + Random.Shared.Next(90);
        Measure.Progress("starting radosgw");
        Run(script, "install");
        var endpoint = Run(script, "start", rgwDir, port.ToString()).Trim().Split('\n')[^1];
        Measure.EndProgress();
        try
        {
            await using var server = await BenchServer.StartAsync($"s3://diced-bench/vol-{Guid.NewGuid():N}",
                "--Diced:S3:Endpoint", endpoint, "--Diced:S3:AccessKey", "DICEDTESTKEY", "--Diced:S3:SecretKey", "DICEDTESTSECRET",
                "--Diced:S3:Region", "us-east-1", "--Diced:S3:CreateBucket", "true", "--Diced:S3:Parallelism", parallelism.ToString());
            var uuid = await server.CreateRepoAsync();
            await server.CreateInstanceAsync(uuid, "{\"typename\":\"uint8blk\",\"dataname\":\"grey\",\"BlockSize\":\"64,64,64\"}");
            var rng = new Random(1);
            var grey = new byte[n * n * n];
            for (int i = 0; i < grey.Length; i++) grey[i] = (byte)(128 + 60 * Math.Sin(i % n / 9.0) + rng.Next(24));
            Measure.Progress("ingesting");
            await server.PostThroughputAsync($"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0", grey, 1);
            Measure.EndProgress();

            // Baseline objects: 64 block-sized objects fetched directly with the same SDK and concurrency.
            using var s3 = new AmazonS3Client(new BasicAWSCredentials("DICEDTESTKEY", "DICEDTESTSECRET"), new AmazonS3Config
            {
                ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1",
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED, ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            });
            const int blocks = 64, blockBytes = 64 * 64 * 64;
            for (int i = 0; i < blocks; i++)
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = "diced-bench", Key = $"plain/{i}", InputStream = new MemoryStream(grey, i * blockBytes, blockBytes), UseChunkEncoding = false });
            async Task<double> Plain()
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < requests; r++)
                    await Parallel.ForAsync(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, ct) =>
                    {
                        using var o = await s3.GetObjectAsync("diced-bench", $"plain/{i}", ct);
                        var buffer = new byte[blockBytes];
                        await o.ResponseStream.ReadExactlyAsync(buffer, ct);
                    });
                return (double)requests * blocks * blockBytes / sw.Elapsed.TotalSeconds / 1e6;
            }
            var url = $"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0";
            await Plain();
            await server.GetThroughputAsync(url, (long)n * n * n, 1);
            var store = (S3KeyValueStore)((RetryingKeyValueStore)server.Services.GetRequiredService<IKeyValueStore>()).Inner;
            long before = store.RequestCount;
            await server.GetThroughputAsync(url, (long)n * n * n, 1);
            long perRead = store.RequestCount - before;
            var (plain, diced, ratio) = await Measure.RatioAsync(rounds, Plain, () => server.GetThroughputAsync(url, (long)n * n * n, requests));
            Console.WriteLine($"(median of {rounds} rounds; ratio = median of per-round ratios; {parallelism} requests in flight)");
            Console.WriteLine($"plain S3 GETs of 64 x 256 KiB objects:      {plain,7:F0} MB/s");
            Console.WriteLine($"GET raw 256^3 uint8 through Diced from S3: {diced,7:F0} MB/s  ratio {ratio:F2}x (bar >= 0.8x)");
            Console.WriteLine($"object requests per 256^3 read: {perRead} (64 block GETs + one listing per layer of blocks)");
        }
        finally
        {
            Run(script, "stop", rgwDir);
            try { Directory.Delete(rgwDir, true); } catch (IOException) { }
        }
    }

    private static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"radosgw.sh {args[0]} failed: {p.StandardError.ReadToEnd()}");
        return output;
    }
}
