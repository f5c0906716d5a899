using Diced.Server;
using Serilog;
using Serilog.Events;

Log.Logger = new LoggerConfiguration().WriteTo.Console(standardErrorFromLevel: LogEventLevel.Warning).CreateLogger();
try
{
    var app = DicedApp.Configure(DicedApp.CreateBuilder(args).Build());
    app.Run();
    return 0;
}
catch (Exception e) when (e is not HostAbortedException)
{
    // One clear line for whoever started the server; the details at debug level for whoever turns that on.
    Log.Debug(e, "Diced server failed to start");
    Console.Error.WriteLine($"diced: error: the server cannot start: {StartupFailure.Describe(e)}");
    return 1;
}
finally
{
    Log.CloseAndFlush();
}

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
