using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Diced.Bench.Micro;

/// <summary>
/// <c>bench micro [filter]</c>: BenchmarkDotNet micro-benchmarks of every codec, in this process (no generated projects
/// to build), each with a copy of the same bytes as its baseline so the Ratio column reads like the other benches.
/// </summary>
public static class MicroBench
{
    public static Task RunAsync(string[] args)
    {
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromAssembly(typeof(MicroBench).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
        return Task.CompletedTask;
    }
}
