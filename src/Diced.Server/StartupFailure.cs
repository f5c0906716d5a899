namespace Diced.Server;

/// <summary>Turns a failure to start (an unusable data path, a missing bucket, no credentials) into one line.</summary>
public static class StartupFailure
{
    public static string Describe(Exception e)
    {
        // Dependency injection and the host wrap the cause; the innermost message is the one that explains it.
        while (e.InnerException is not null && e is AggregateException or InvalidOperationException or System.Reflection.TargetInvocationException)
            e = e.InnerException;
        var message = e.Message.ReplaceLineEndings(" ").Trim();
        return e is IOException or ArgumentException or UnauthorizedAccessException or Datastore.DatastoreException or Storage.TransientStoreException
            ? message
            : $"{message} ({e.GetType().Name})";
    }
}
