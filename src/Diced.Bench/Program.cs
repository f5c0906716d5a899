using Diced.Bench;

// Benchmarks of Diced's hot paths. Every figure is a ratio against a baseline measured in the same run:
// these machines are noisy, so absolute times mean little.
var suites = new Dictionary<string, Func<Task>>
{
    ["versions"] = VersionDepthBench.RunAsync,
    ["keyvalue"] = KeyValueThroughputBench.RunAsync,
    ["volume"] = VolumeBench.RunAsync,
    ["ndarray"] = NdArrayBench.RunAsync,
    ["pyramid"] = PyramidBench.RunAsync,
    ["dag"] = DagBench.RunAsync,
    ["labels"] = LabelBench.RunAsync,
    ["ingest"] = IngestBench.RunAsync,
    ["s3"] = S3VolumeBench.RunAsync,
    ["annotation"] = AnnotationBench.RunAsync,
    ["neuronjson"] = NeuronjsonBench.RunAsync,
    ["meshes"] = MeshBench.RunAsync,
    ["auth"] = AuthBench.RunAsync,
    ["peers"] = PeersBench.RunAsync,
};
// `micro [BenchmarkDotNet options]`: the codec micro-benchmarks (not part of `all`: they take a few minutes).
if (args.Length > 0 && args[0] == "micro")
{
    await Diced.Bench.Micro.MicroBench.RunAsync(args[1..]);
    return 0;
}
var chosen = args.Length == 0 || args[0] == "all" ? suites.Keys.ToArray() : args;
foreach (var name in chosen)
{
    if (!suites.TryGetValue(name, out var run))
    {
        Console.Error.WriteLine($"unknown benchmark \"{name}\"; choose from: all, {string.Join(", ", suites.Keys)}");
        return 2;
    }
    Console.WriteLine($"== {name}");
    await run();
}
return 0;
