using System.Formats.Tar;
using System.Globalization;
using Diced.Datastore.Types.Tarsupervoxels;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Tarsupervoxels;

/// <summary>The <c>tarsupervoxels</c> type's routes: a file per supervoxel, a tar per body.</summary>
public static class TarsupervoxelsEndpoints
{
    public static void MapTarsupervoxelsEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType("tarsupervoxels");
        g.MapSync();
        g.MapPost("info", PostInfo);
        g.MapMethods("supervoxel/{id}", ["GET", "POST", "DELETE"], Supervoxel);
        g.MapMethods("tarfile/{label}", DvidRouting.GetAndHead, Tarfile);
        g.MapMethods("missing/{label}", DvidRouting.GetAndHead, Missing);
        g.MapMethods("exists", DvidRouting.GetAndHead, Exists);
        g.MapPost("load", Load);
    }

    public static void RegisterInfo(InstanceInfoWriters writers)
        => writers.Register("tarsupervoxels", (w, ctx, _) =>
        {
            w.WriteStartObject("Extended");
            w.WriteString("Extension", ctx.Instance.Settings.GetValueOrDefault(TarsupervoxelsType.ExtensionKey, ""));
            w.WriteEndObject();
            return ValueTask.CompletedTask;
        });

    private static SupervoxelFiles Of(HttpContext http)
    {
        var ctx = http.Instance();
        return ctx.Store.SupervoxelFilesOf(ctx.Data);
    }

    /// <summary>A uint64 id in the URL; DVID answers Go's parse error.</summary>
    private static ulong Id(string text) => Datastore.GoStrconv.ParseUint(text);

    private static async Task Supervoxel(HttpContext http, string id, IOptions<DicedOptions> o)
    {
        var sv = Id(id);
        var files = Of(http);
        switch (http.Request.Method)
        {
            case "GET":
                var file = await files.GetAsync(sv, http.RequestAborted) ?? throw Reject.NotFound($"Supervoxel {sv} not found");
                http.Response.ContentType = "application/octet-stream";
                http.Response.ContentLength = file.Length;
                await http.Response.Body.WriteAsync(file, http.RequestAborted);
                break;
            case "POST":
                await files.PutAsync(sv, await RequestBody.ReadAsync(http, o.Value.MaxValueBytes), http.RequestAborted);
                break;
            default:
                await files.DeleteAsync(sv, http.RequestAborted);
                break;
        }
    }

    /// <summary>
    /// <c>tarfile/&lt;label&gt;</c>: GET streams a tar of the body's files in ascending supervoxel order, an empty
    /// <c>&lt;sv&gt;.missing</c> member for each supervoxel without one; HEAD is 200 only when none is missing.
    /// </summary>
    private static async Task Tarfile(HttpContext http, string label)
    {
        var body = Id(label);
        var files = Of(http);
        var ct = http.RequestAborted;
        var members = await files.BodyAsync(body, ct);
        if (HttpMethods.IsHead(http.Request.Method))
        {
            if (members.Any(m => !m.HasFile))
                throw Reject.BadRequest($"can't check existence of tarfile for label {body}: not all supervoxel data available for label {body}");
            return;
        }
        http.Response.ContentType = "application/tar";
        await using var tar = new TarWriter(http.Response.Body, TarEntryFormat.Ustar, leaveOpen: true);
        foreach (var (sv, _) in members)
        {
            // Read now: a file deleted since the listing shows as missing, never as nothing.
            var file = await files.GetAsync(sv, ct);
            var entry = new UstarTarEntry(TarEntryType.RegularFile, file is null ? $"{sv}.missing" : $"{sv}.{files.Extension}")
            {
                Mode = (UnixFileMode)0x1ED, // 0755, as DVID
                ModificationTime = DateTimeOffset.UnixEpoch,
                DataStream = file is null ? null : new MemoryStream(file, writable: false),
            };
            await tar.WriteEntryAsync(entry, ct);
        }
    }

    private static async Task Missing(HttpContext http, string label)
    {
        var members = await Of(http).BodyAsync(Id(label), http.RequestAborted);
        await DvidJson.WriteRawAsync(http, "[" + string.Join(",", members.Where(m => !m.HasFile).Select(m => m.Supervoxel)) + "]");
    }

    /// <summary><c>exists</c>: a JSON array of supervoxel ids in the GET body (<c>?hash=</c> its MD5), bools out in the same order.</summary>
    private static async Task Exists(HttpContext http, IOptions<DicedOptions> o)
    {
        var raw = await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes);
        if (http.Request.Query["hash"].ToString() is { Length: > 0 } hash)
        {
            var md5 = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(raw));
            if (hash != md5) throw Reject.BadRequest($"content hash incorrect.  expected {hash}, got {md5}");
        }
        ulong[] ids;
        try { ids = System.Text.Json.JsonSerializer.Deserialize<ulong[]>(raw) ?? []; }
        catch (System.Text.Json.JsonException e) { throw Reject.BadRequest($"Bad exists request JSON: {e.Message}"); }
        var found = await Of(http).ExistAsync(ids, http.RequestAborted);
        await DvidJson.WriteRawAsync(http, "[" + string.Join(",", found.Select(f => f ? "true" : "false")) + "]");
    }

    /// <summary><c>load</c>: a tar of <c>&lt;sv&gt;.&lt;extension&gt;</c> files, checked whole before anything is stored, then stored in one commit.</summary>
    private static async Task Load(HttpContext http, IOptions<DicedOptions> o)
    {
        var raw = await RequestBody.ReadAsync(http, o.Value.MaxValueBytes);
        var files = Of(http);
        var loaded = new List<(ulong, ReadOnlyMemory<byte>)>();
        try
        {
            using var reader = new TarReader(new MemoryStream(raw, writable: false));
            int index = 0;
            while (await reader.GetNextEntryAsync(copyData: false, http.RequestAborted) is { } entry)
            {
                index++;
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes) continue;
                var sv = files.ParseMemberName(entry.Name, index);
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    throw Reject.BadRequest($"file {index} ({entry.Name}) is not a regular file");
                var data = new byte[entry.Length];
                if (entry.DataStream is { } s) await s.ReadExactlyAsync(data, http.RequestAborted);
                loaded.Add((sv, data));
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
        {
            throw Reject.BadRequest($"corrupt tar file: {e.Message}");
        }
        await files.LoadAsync(loaded, http.RequestAborted);
    }

    /// <summary><c>POST info</c>: <c>{"Extension": "…"}</c> changes the extension files are named with.</summary>
    private static async Task PostInfo(HttpContext http, IOptions<DicedOptions> o)
    {
        var ctx = http.Instance();
        var config = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        if (config.TryGetValue(TarsupervoxelsType.ExtensionKey, out var ext))
        {
            TarsupervoxelsType.CheckExtension(ext);
            await ctx.Store.UpdateInstanceAsync(ctx.Version.Repo, ctx.Instance.Name,
                inst => inst with { Settings = inst.Settings.SetItem(TarsupervoxelsType.ExtensionKey, ext) }, http.RequestAborted);
        }
        await InstanceEndpoints.WriteConfigChangedAsync(http, ctx.Instance.Name, config);
    }
}
