using System.Buffers;
using System.Formats.Tar;
using System.Text;
using Diced.Server.Http;
using Diced.Server.Json;
using Diced.Server.Wire;

namespace Diced.Server.Endpoints.Keyvalue;

/// <summary>
/// The three answers of DVID's key batches (<c>keyvalues</c>, <c>keyrangevalues</c>) for keyvalue and neuronjson:
/// protobuf <c>KeyValues</c> (default), a JSON object (<c>json=true</c>) or a tar file (<c>tar=true</c>, <c>jsontar=true</c>).
/// </summary>
internal static class KeyValueBatches
{
    public enum Format { Protobuf, Json, Tar }

    public static Format FormatOf(HttpContext http)
    {
        var q = http.Request.Query;
        bool json = q["json"] == "true", tar = q["tar"] == "true" || q["jsontar"] == "true";
        if (json && tar) throw Reject.BadRequest("cannot set both 'json' and 'tar' query strings");
        return json ? Format.Json : tar ? Format.Tar : Format.Protobuf;
    }

    public static async Task WritePairsAsync(HttpContext http, Format format, IAsyncEnumerable<(string Key, byte[] Value)> pairs)
    {
        var ct = http.RequestAborted;
        switch (format)
        {
            case Format.Protobuf:
            {
                http.Response.ContentType = "application/octet-stream";
                var pipe = http.Response.BodyWriter;
                await foreach (var (k, v) in pairs)
                {
                    KeyValueMessages.WriteKeyValue(pipe, k, v);
                    if (pipe.UnflushedBytes > 64 * 1024) await pipe.FlushAsync(ct);
                }
                await pipe.FlushAsync(ct);
                break;
            }
            case Format.Json:
            {
                http.Response.ContentType = "application/json";
                var pipe = http.Response.BodyWriter;
                pipe.Write("{"u8);
                bool firstPair = true;
                await foreach (var (k, v) in pairs)
                {
                    if (!firstPair) pipe.Write(","u8);
                    firstPair = false;
                    pipe.Write(Encoding.UTF8.GetBytes(DvidJson.Quote(k)));
                    pipe.Write(":"u8);
                    pipe.Write(v.Length == 0 ? "{}"u8 : v);
                    if (pipe.UnflushedBytes > 64 * 1024) await pipe.FlushAsync(ct);
                }
                pipe.Write("}"u8);
                await pipe.FlushAsync(ct);
                break;
            }
            case Format.Tar:
            {
                http.Response.ContentType = "application/tar";
                await using var tar = new TarWriter(http.Response.Body, TarEntryFormat.Pax, leaveOpen: true);
                await foreach (var (k, v) in pairs)
                {
                    TarEntry entry = k.Length <= 100 && Ascii(k)
                        ? new UstarTarEntry(TarEntryType.RegularFile, k)
                        : new PaxTarEntry(TarEntryType.RegularFile, k);
                    entry.Mode = (UnixFileMode)Convert.ToInt32("755", 8);
                    entry.ModificationTime = DateTimeOffset.UtcNow;
                    entry.DataStream = new MemoryStream(v, writable: false);
                    await tar.WriteEntryAsync(entry, ct);
                }
                break;
            }
        }
    }

    private static bool Ascii(string s) => s.All(c => c is > (char)0 and < (char)128);
}
