namespace Diced.Datastore;

/// <summary>What kind of failure a <see cref="DatastoreException"/> reports; the HTTP layer maps it to a status.</summary>
public enum ErrorKind
{
    /// <summary>The request is malformed or not allowed in the current state (DVID answers 400).</summary>
    BadRequest,
    /// <summary>The named thing does not exist where DVID answers 404 (keys, label queries).</summary>
    NotFound,
    /// <summary>The request exceeds a configured size limit.</summary>
    TooLarge,
    /// <summary>A concurrent operation conflicts with this one; retrying may succeed.</summary>
    Conflict,
    /// <summary>The caller lacks the privilege the request needs (403).</summary>
    Forbidden,
    /// <summary>The server is at capacity for this kind of work (throttled operations).</summary>
    Unavailable,
}

/// <summary>A failure of a datastore operation caused by the request, never by a bug.</summary>
public class DatastoreException(string message, ErrorKind kind = ErrorKind.BadRequest, Exception? inner = null)
    : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;

    public static DatastoreException BadRequest(string message) => new(message);
    public static DatastoreException NotFound(string message) => new(message, ErrorKind.NotFound);
}
