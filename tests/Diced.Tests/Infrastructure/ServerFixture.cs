namespace Diced.Tests.Infrastructure;

/// <summary>One server shared by a test class; each test makes its own repos, so tests don't interfere.</summary>
public sealed class ServerFixture : IDisposable
{
    public DicedFactory Factory { get; } = new();
    public HttpClient Client { get; }

    public ServerFixture() => Client = Factory.CreateClient();

    public void Dispose() => Factory.Dispose();
}
