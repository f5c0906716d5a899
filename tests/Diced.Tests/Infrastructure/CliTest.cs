using Diced.Cli;

namespace Diced.Tests.Infrastructure;

/// <summary>Tests of the diced command line, run in-process with captured output, each in its own directory and store.</summary>
public abstract class CliTest(string prefix) : IDisposable
{
    protected string Dir { get; } = TempDir.Create(prefix);

    protected string Store => Path.Combine(Dir, "store");

    public void Dispose()
    {
        TempDir.Delete(Dir);
        GC.SuppressFinalize(this);
    }

    protected static async Task<(int Code, string Out, string Err)> Diced(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        int code = await DicedCli.RunAsync(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
