namespace Diced.Cli;

internal static class EntryPoint
{
    private static Task<int> Main(string[] args) => DicedCli.RunAsync(args, Console.Out, Console.Error);
}
