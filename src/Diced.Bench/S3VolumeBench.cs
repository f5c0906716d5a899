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
            // Second baseline: the same GETs without the SDK's pipeline (URLs pre-signed once, plain HttpClient), the
            // cheapest way to fetch these bytes from this machine; Diced's own block GETs are sent this way too.
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue });
            var signed = Enumerable.Range(0, blocks).Select(i => s3.GetPreSignedURL(new GetPreSignedUrlRequest
                { BucketName = "diced-bench", Key = $"plain/{i}", Expires = DateTime.UtcNow.AddHours(2), Protocol = endpoint.StartsWith("https") ? Protocol.HTTPS : Protocol.HTTP })).ToArray();
            async Task<double> Direct()
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < requests; r++)
                    await Parallel.ForAsync(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, ct) =>
                    {
                        using var o = await http.GetAsync(signed[i], HttpCompletionOption.ResponseHeadersRead, ct);
                        o.EnsureSuccessStatusCode();
                        var buffer = new byte[blockBytes];
                        await (await o.Content.ReadAsStreamAsync(ct)).ReadExactlyAsync(buffer, ct);
                    });
                return (double)requests * blocks * blockBytes / sw.Elapsed.TotalSeconds / 1e6;
            }
            var url = $"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_0";
            Task<double> Diced() => server.GetThroughputAsync(url, (long)n * n * n, requests);
            await Plain();
            await Direct();
            await server.GetThroughputAsync(url, (long)n * n * n, 1);
            var store = (S3KeyValueStore)((RetryingKeyValueStore)server.Services.GetRequiredService<IKeyValueStore>()).Inner;
            long before = store.RequestCount;
            await server.GetThroughputAsync(url, (long)n * n * n, 1);
            long perRead = store.RequestCount - before;

            var cpu = new[] { new CpuSplit(), new CpuSplit(), new CpuSplit() };
            var mbs = new List<double>[] { [], [], [] };
            var vsSdk = new List<double>();
            var vsDirect = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                mbs[0].Add(await cpu[0].MeasureAsync(Plain));
                mbs[1].Add(await cpu[1].MeasureAsync(Direct));
                mbs[2].Add(await cpu[2].MeasureAsync(Diced));
                vsSdk.Add(mbs[2][^1] / mbs[0][^1]);
                vsDirect.Add(mbs[2][^1] / mbs[1][^1]);
            }
            Console.WriteLine($"(median of {rounds} rounds; ratios = medians of per-round ratios; {parallelism} requests in flight everywhere)");
            Console.WriteLine($"plain S3 GETs of 64 x 256 KiB objects, AWS SDK:        {Measure.Median(mbs[0]),7:F0} MB/s");
            Console.WriteLine($"plain S3 GETs of 64 x 256 KiB objects, direct HTTP:    {Measure.Median(mbs[1]),7:F0} MB/s");
            Console.WriteLine($"GET raw 256^3 uint8 through Diced from S3:             {Measure.Median(mbs[2]),7:F0} MB/s  " +
                $"{Measure.Median(vsSdk):F2}x of SDK GETs (bar >= 0.8x), {Measure.Median(vsDirect):F2}x of direct GETs");
            Console.WriteLine($"object requests per 256^3 read: {perRead}");
            string[] names = ["SDK GETs", "direct GETs", "Diced"];
            for (int i = 0; i < 3; i++) Console.WriteLine($"CPU seconds per 16 MiB, {names[i],-12} {cpu[i].Report(rounds * requests)}");

            // Writes as an ingest makes them: POST raw 256³ through Diced into a fresh part of the volume each time
            // (blocks encoded, written, extents grown, committed) against plain PUTs of the same 64 blocks, LZ4-encoded
            // as Diced stores them, to fresh names, with the same SDK and concurrency.
            var codec = global::Diced.Codecs.CompressionSpec.Parse("lz4");
            var encoded = Enumerable.Range(0, blocks).Select(i =>
            {
                var block = new byte[blockBytes];
                for (int z = 0; z < 64; z++)
                    for (int y = 0; y < 64; y++)
                        grey.AsSpan(((z + i / 16 * 64) * n + y + i / 4 % 4 * 64) * n + i % 4 * 64, 64).CopyTo(block.AsSpan((z * 64 + y) * 64));
                return global::Diced.Codecs.ValueEnvelope.Encode(block, codec);
            }).ToArray();
            int slabs = 0, plainRounds = 0;
            async Task<double> PlainPuts()
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < requests; r++)
                {
                    int round = plainRounds++;
                    await Parallel.ForAsync(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, ct) =>
                        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "diced-bench", Key = $"plain-put/{round}/{i}", InputStream = new MemoryStream(encoded[i]), UseChunkEncoding = false }, ct));
                }
                return (double)requests * blocks * blockBytes / sw.Elapsed.TotalSeconds / 1e6;
            }
            string FreshSlab() => $"/api/node/{uuid}/grey/raw/0_1_2/{n}_{n}_{n}/0_0_{n * ++slabs}";
            async Task<double> DicedPosts()
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < requests; r++) await server.PostAsync(FreshSlab(), grey);
                return (double)requests * grey.Length / sw.Elapsed.TotalSeconds / 1e6;
            }
            await PlainPuts();
            await DicedPosts();
            before = store.RequestCount;
            long bytesBefore = store.BytesPut;
            await server.PostAsync(FreshSlab(), grey);
            long perWrite = store.RequestCount - before, bytesPerWrite = store.BytesPut - bytesBefore;
            var (puts, posts, vsPuts) = await Measure.RatioAsync(rounds, PlainPuts, DicedPosts);
            Console.WriteLine($"plain S3 PUTs of 64 encoded blocks to fresh names, SDK:  {puts,7:F0} MB/s (of voxels)");
            Console.WriteLine($"POST raw 256^3 uint8 through Diced to S3, fresh blocks:  {posts,7:F0} MB/s  {vsPuts:F2}x of SDK PUTs (goal >= 0.8x)");
            Console.WriteLine($"object requests per 256^3 write: {perWrite}; bytes sent {bytesPerWrite / 1048576.0:F1} MiB for 16 MiB of voxels (journal included)");
        }
        finally
        {
            Run(script, "stop", rgwDir);
            try { Directory.Delete(rgwDir, true); } catch (IOException) { }
        }
    }

    /// <summary>CPU time of this process (server + client) and of the Ceph daemons while a measured case runs.</summary>
    private sealed class CpuSplit
    {
        private double _self, _ceph, _wall;

        public async Task<double> MeasureAsync(Func<Task<double>> op)
        {
            var self0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var ceph0 = CephSeconds();
            var sw = Stopwatch.StartNew();
            var result = await op();
            _wall += sw.Elapsed.TotalSeconds;
            _self += Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - self0;
            _ceph += CephSeconds() - ceph0;
            return result;
        }

        public string Report(int reads) => $"bench process {_self / reads:F3}, ceph daemons {_ceph / reads:F3}, wall {_wall / reads:F3}";

        private static double CephSeconds()
        {
            double ticks = 0;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    var comm = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                    if (!comm.StartsWith("ceph-") && !comm.StartsWith("radosgw")) continue;
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    ticks += double.Parse(fields[11]) + double.Parse(fields[12]); // utime, stime
                }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
            return ticks / 100.0;
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
