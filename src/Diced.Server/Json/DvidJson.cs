using System.Text.Encodings.Web;
using System.Text.Json;

namespace Diced.Server.Json;

/// <summary>Writes JSON responses the way DVID's Go encoder does (UTF-8 kept, fields in DVID's order).</summary>
public static class DvidJson
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    /// <summary>Buffers a JSON document written by <paramref name="write"/> and sends it as <c>application/json</c>.</summary>
    public static async Task WriteAsync(HttpContext http, Func<Utf8JsonWriter, ValueTask> write)
    {
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.BodyWriter, WriterOptions);
        await write(w);
        await w.FlushAsync(http.RequestAborted);
    }

    public static Task WriteAsync(HttpContext http, Action<Utf8JsonWriter> write)
        => WriteAsync(http, w => { write(w); return ValueTask.CompletedTask; });

    /// <summary>Sends a literal JSON text (for DVID's hand-formatted replies such as <c>{"root": "…"}</c>).</summary>
    public static Task WriteRawAsync(HttpContext http, string json)
    {
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(json);
    }

    /// <summary>A JSON string literal, escaped.</summary>
    /// <summary>Writes <paramref name="value"/> serialized as the answer (application/json).</summary>
    public static Task WriteValueAsync<T>(HttpContext http, T value)
        => WriteRawAsync(http, JsonSerializer.Serialize(value, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));

    public static string Quote(string s) => JsonSerializer.Serialize(s, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
