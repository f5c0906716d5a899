using Diced.Server;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateLogger();
try
{
    var app = DicedApp.Configure(DicedApp.CreateBuilder(args).Build());
    app.Run();
    return 0;
}
catch (Exception e) when (e is not HostAbortedException)
{
    Log.Fatal(e, "Diced server failed to start");
    return 1;
}
finally
{
    Log.CloseAndFlush();
}

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
