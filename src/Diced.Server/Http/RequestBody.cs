using Diced.Datastore;
using Microsoft.AspNetCore.Connections;

namespace Diced.Server.Http;

/// <summary>
/// Reads request bodies whole, whatever the Content-Type and method (DVID clients send bodies on GET). Every body
/// read whole holds its size from the server-wide <see cref="BodyBudget"/> until the request ends, and any failure
/// to read a body (bad chunked framing, a connection cut short) is the client's: a 400, never a 500.
/// </summary>
public static class RequestBody
{
    /// <summary>Reads the body; rejects it before reading when its declared length exceeds <paramref name="maxBytes"/>.</summary>
    /// <exception cref="DatastoreException">Too large (413), malformed or shorter than its Content-Length (400), or over
    /// the server's budget for buffered bodies (503).</exception>
    public static async Task<byte[]> ReadAsync(HttpContext http, long maxBytes)
    {
        var declared = http.Request.ContentLength;
        if (declared > maxBytes) throw TooLarge(declared.Value, maxBytes);
        var lease = http.RequestServices.GetRequiredService<BodyBudget>().LeaseOf(http);
        if (declared is { } n)
        {
            lease.Grow(n);
            var buffer = GC.AllocateUninitializedArray<byte>((int)n);
            int read = 0;
            while (read < n)
            {
                int r;
                try { r = await http.Request.Body.ReadAsync(buffer.AsMemory(read), http.RequestAborted); }
                catch (Exception e) when (IsBodyFailure(http, e)) { throw Truncated(read, n, e); }
                if (r == 0) throw Truncated(read, n, null);
                read += r;
            }
            return buffer;
        }
        using var ms = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            int r = await ReadSomeAsync(http, chunk);
            if (r == 0) break;
            if (ms.Length + r > maxBytes) throw TooLarge(ms.Length + r, maxBytes);
            lease.Grow(r * 2L); // the stream's buffer, and the array it is copied to at the end
            ms.Write(chunk, 0, r);
        }
        return ms.ToArray();
    }

    /// <summary>Counts <paramref name="bytes"/> more (a body's decompressed copy) against the budget until the request ends.</summary>
    public static void Reserve(HttpContext http, long bytes) => http.RequestServices.GetRequiredService<BodyBudget>().LeaseOf(http).Grow(bytes);

    /// <summary>Reads what is available of the body into <paramref name="buffer"/> (0 at its end).</summary>
    public static async ValueTask<int> ReadSomeAsync(HttpContext http, Memory<byte> buffer)
    {
        try { return await http.Request.Body.ReadAsync(buffer, http.RequestAborted); }
        catch (Exception e) when (IsBodyFailure(http, e))
        {
            throw new DatastoreException($"request body could not be read: {e.Message}", ErrorKind.BadRequest, e);
        }
    }

    /// <summary>
    /// Runs a reader of the body (a <c>PipeReader</c> parser): failures of the body itself become 400s, and malformed
    /// content the parser reports (<see cref="InvalidDataException"/>) too.
    /// </summary>
    public static async Task<T> ReadingAsync<T>(HttpContext http, Func<Task<T>> read)
    {
        try { return await read(); }
        catch (Exception e) when (IsBodyFailure(http, e) && e is not InvalidDataException)
        {
            throw new DatastoreException($"request body could not be read: {e.Message}", ErrorKind.BadRequest, e);
        }
        catch (InvalidDataException e) { throw new DatastoreException(e.Message, ErrorKind.BadRequest, e); }
    }

    /// <summary>Failures of the body itself (framing, a short or reset connection), not of this server.</summary>
    private static bool IsBodyFailure(HttpContext http, Exception e)
        => !http.RequestAborted.IsCancellationRequested && e is BadHttpRequestException or IOException or ConnectionResetException;

    private static DatastoreException TooLarge(long size, long max)
        => new($"Requested payload ({size} bytes) exceeds this server's set limit ({max})", ErrorKind.TooLarge);

    private static DatastoreException Truncated(long read, long declared, Exception? inner)
        => new($"request body ended after {read} of its declared {declared} bytes; nothing was stored", ErrorKind.BadRequest, inner);
}
