using Microsoft.AspNetCore.Connections;
using System.Text.Json;
using Diced.Datastore;
using Microsoft.AspNetCore.Http.Features;

namespace Diced.Server.Http;

/// <summary>
/// The one place that turns failures into DVID's error responses: status (400 unless the failure says otherwise),
/// <c>text/plain</c>, body <c>"&lt;message&gt; (&lt;path&gt;).\n"</c>. Bad input never becomes a 500.
/// </summary>
public sealed class DvidErrorMiddleware(RequestDelegate next, ILogger<DvidErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
        }
        catch (Exception e) when (Classify(e) is { } failure)
        {
            if (http.RequestAborted.IsCancellationRequested && e is OperationCanceledException)
                return; // the client went away; nothing to answer
            log.LogInformation("Rejected {Method} {Path}: {Status} {Message}", http.Request.Method, http.Request.Path, failure.Status, failure.Message);
            await WriteAsync(http, failure.Status, failure.Message);
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            log.LogError(e, "Unhandled failure on {Method} {Path}", http.Request.Method, http.Request.Path);
            await WriteAsync(http, StatusCodes.Status500InternalServerError, $"Internal error: {e.Message}");
        }
    }

    private static (int Status, string Message)? Classify(Exception e) => e switch
    {
        DatastoreException d => (StatusOf(d.Kind), d.Message),
        BadHttpRequestException b when b.StatusCode == StatusCodes.Status413PayloadTooLarge => (413, "request body is larger than this server accepts"),
        BadHttpRequestException b => (400, $"bad request body: {b.Message}"),
        JsonException j => (400, $"Malformed JSON request in body: {j.Message}"),
        InvalidDataException i => (400, i.Message),
        // System.Text.Json parses "\ud800" (an unpaired surrogate escape) but refuses to turn it into a string.
        InvalidOperationException o when o.TargetSite?.DeclaringType?.FullName == "System.Text.Json.ThrowHelper" => (400, $"Malformed JSON request in body: {o.Message}"),
        OperationCanceledException => (400, "request cancelled"),
        IOException io when io.InnerException is BadHttpRequestException or ConnectionResetException => (400, $"request body could not be read: {io.Message}"),
        Storage.TransientStoreException t => (503, $"storage backend unavailable, try again: {t.Message}"),
        ConnectionResetException => (400, "connection reset while reading the request"),
        _ => null,
    };

    public static int StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorKind.Forbidden => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Writes DVID's error shape, unless the response has already started streaming.</summary>
    public static async Task WriteAsync(HttpContext http, int status, string message)
    {
        if (http.Response.HasStarted)
        {
            http.Abort(); // mid-stream: truncate, as DVID does
            return;
        }
        http.Response.Clear();
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        if (status == StatusCodes.Status503ServiceUnavailable) http.Response.Headers.RetryAfter = "1";
        // A client that sent a body we did not read would otherwise keep the connection busy draining it.
        if (http.Request.ContentLength is > 0 && http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false })
            http.Response.Headers.Connection = "close";
        await http.Response.WriteAsync($"{message} ({http.Request.Path}).\n");
    }
}

/// <summary>Throw helpers for request validation in endpoints.</summary>
public static class Reject
{
    public static DatastoreException BadRequest(string message) => new(message);
    public static DatastoreException NotFound(string message) => new(message, ErrorKind.NotFound);
}
