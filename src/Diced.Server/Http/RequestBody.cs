using Diced.Datastore;

namespace Diced.Server.Http;

/// <summary>Reads request bodies whole, whatever the Content-Type and method (DVID clients send bodies on GET).</summary>
public static class RequestBody
{
    /// <summary>Reads the body; rejects it before reading when its declared length exceeds <paramref name="maxBytes"/>.</summary>
    /// <exception cref="DatastoreException">Too large (413) or shorter than its Content-Length (400).</exception>
    public static async Task<byte[]> ReadAsync(HttpContext http, long maxBytes)
    {
        var declared = http.Request.ContentLength;
        if (declared > maxBytes) throw TooLarge(declared.Value, maxBytes);
        var body = http.Request.Body;
        if (declared is { } n)
        {
            var buffer = GC.AllocateUninitializedArray<byte>((int)n);
            int read = 0;
            while (read < n)
            {
                int r;
                try { r = await body.ReadAsync(buffer.AsMemory(read), http.RequestAborted); }
                catch (Exception e) when (e is BadHttpRequestException or IOException)
                {
                    throw Truncated(read, n, e);
                }
                if (r == 0) throw Truncated(read, n, null);
                read += r;
            }
            return buffer;
        }
        using var ms = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            int r = await body.ReadAsync(chunk, http.RequestAborted);
            if (r == 0) break;
            if (ms.Length + r > maxBytes) throw TooLarge(ms.Length + r, maxBytes);
            ms.Write(chunk, 0, r);
        }
        return ms.ToArray();
    }

    private static DatastoreException TooLarge(long size, long max)
        => new($"Requested payload ({size} bytes) exceeds this server's set limit ({max})", ErrorKind.TooLarge);

    private static DatastoreException Truncated(long read, long declared, Exception? inner)
        => new($"request body ended after {read} of its declared {declared} bytes; nothing was stored", ErrorKind.BadRequest, inner);
}
