using System.Diagnostics;
using Diced.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Diced.Tests.Processes;

/// <summary>
/// Kills a server with <c>kill -9</c> at random moments while clients send label mutations and multi-block writes,
/// restarts it, and checks after every restart that voxels, label indices, mapping, sizes, pyramids (labels and
/// grey), max label and mutation log all agree, and that nothing acknowledged was lost.
/// </summary>
[Collection(ProcessCollection.Name)]
public class CrashConsistencyTests(ITestOutputHelper output)
{
    /// <summary>Kills per run: enough to land in the middle of many mutations, within about two minutes.</summary>
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("DICED_CRASH_KILLS"), out var n) ? n : 16;

    [Fact]
    public async Task Label_state_agrees_with_voxels_after_every_kill_9()
    {
        var dir = TempDir.Create("diced-crash-labels");
        try
        {
            var rng = new Random(Environment.TickCount);
            LabelWorkload? work = null;
            var all = new List<string>();
            int kills = 0;
            var sw = Stopwatch.StartNew();
            for (int cycle = 0; cycle <= Kills; cycle++)
            {
                // Every other run commits everything but the smallest batches as ingested table files, so both commit
                // paths of the embedded store are killed mid-write (and recover each other's data).
                using var server = cycle % 2 == 0 ? ServerProcess.Start(dir) : ServerProcess.Start(dir, null, "--Diced:IngestBatchBytes", "4096");
                await server.WaitUntilServingAsync(TimeSpan.FromSeconds(30));
                var c = server.Client;
                if (work is null) work = new LabelWorkload(await LabelWorkload.SetUpAsync(c));
                var uuid = (await c.GetJsonAsync("/api/repos/info")).RootElement.EnumerateObject().Single().Name;

                var problems = await LabelStateChecker.CheckAsync(c, uuid, work);
                output.WriteLine($"after {kills} kills: {work.Acknowledged} changes acknowledged, {work.Mutations.Count} mutations, {problems.Count} inconsistencies");
                foreach (var p in problems) output.WriteLine("  " + p);
                all.AddRange(problems.Select(p => $"after kill {kills}: {p}"));
                if (cycle == Kills || problems.Count > 0) break;

                using var stop = new CancellationTokenSource();
                int seed = rng.Next();
                var clients = Enumerable.Range(0, 4).Select(i => work.RunAsync(c, seed + i, withGrey: i == 3, stop.Token)).ToArray();
                await Task.Delay(rng.Next(300, 1500));
                server.Signal(ServerProcess.SIGKILL);
                Assert.True(server.WaitForExit(TimeSpan.FromSeconds(10)));
                stop.Cancel();
                await Task.WhenAll(clients);
                kills++;
            }
            output.WriteLine($"{kills} kills survived in {sw.Elapsed.TotalSeconds:F0} s: {work!.Acknowledged} changes acknowledged ({work.Mutations.Count} mutations), {all.Count} inconsistencies");
            Assert.Empty(all);
            Assert.True(work.Mutations.Count > 10, $"only {work.Mutations.Count} mutations were acknowledged");
        }
        finally { TempDir.Delete(dir); }
    }
}
