using System.Diagnostics;
using Diced.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Diced.Tests.Processes;

/// <summary>
/// Kills a server with <c>kill -9</c> at random moments while a client merges, resolves, commits and deletes versions
/// and another writes multi-chunk ndarray boxes, restarts it, and checks after every restart that no merge child is
/// seen without all of its parents' data, nothing acknowledged was lost or undone, and no ndarray write is torn.
/// </summary>
[Collection(ProcessCollection.Name)]
public class DagCrashTests(ITestOutputHelper output)
{
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("DICED_CRASH_KILLS"), out var n) ? Math.Max(2, n / 2) : 8;

    [Fact]
    public async Task Merges_resolves_deletions_and_ndarray_writes_are_whole_or_absent_after_every_kill_9()
    {
        var dir = TempDir.Create("diced-crash-dag");
        try
        {
            var rng = new Random(Environment.TickCount);
            DagWorkload? work = null;
            var all = new List<string>();
            var sw = Stopwatch.StartNew();
            for (int kills = 0; ; kills++)
            {
                using var server = kills % 2 == 0 ? ServerProcess.Start(dir) : ServerProcess.Start(dir, null, "--Diced:IngestBatchBytes", "4096");
                await server.WaitUntilServingAsync(TimeSpan.FromSeconds(30));
                var c = server.Client;
                work ??= await DagWorkload.SetUpAsync(c);
                var problems = await work.CheckAsync(c);
                output.WriteLine($"after {kills} kills: {work.Merged.Count} merges, {work.Deleted.Count} deletions, {work.NdAcknowledged} ndarray writes acknowledged; {problems.Count} inconsistencies");
                foreach (var p in problems) output.WriteLine("  " + p);
                all.AddRange(problems.Select(p => $"after kill {kills}: {p}"));
                if (kills == Kills || problems.Count > 0) break;

                using var stop = new CancellationTokenSource();
                var clients = new[] { work.RunDagAsync(c, stop.Token), work.RunNdAsync(c, stop.Token) };
                await Task.Delay(rng.Next(300, 1500));
                server.Signal(ServerProcess.SIGKILL);
                Assert.True(server.WaitForExit(TimeSpan.FromSeconds(10)));
                stop.Cancel();
                await Task.WhenAll(clients);
            }
            output.WriteLine($"{Kills} kills in {sw.Elapsed.TotalSeconds:F0} s: {work!.Merged.Count} merges, {work.Deleted.Count} deletions, {work.NdAcknowledged} ndarray writes acknowledged, {all.Count} inconsistencies");
            Assert.Empty(all);
            Assert.True(work.Merged.Count >= 3, $"only {work.Merged.Count} merges were acknowledged");
        }
        finally { TempDir.Delete(dir); }
    }
}
