using System.Text.Json;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Imageblk;

/// <summary>Volume properties (§6.2, §6.4–6.6): info's Extended fields, metadata, extents, resolution.</summary>
public static class VolumeMetadataEndpoints
{
    /// <summary>metadata, resolution and POST info; <c>POST extents</c> too where DVID has it (imageblk, labelmap).</summary>
    public static void MapVolumeMetadata(this RouteGroupBuilder g, bool extents = true)
    {
        g.MapMethods("metadata", DvidRouting.GetAndHead, Metadata);
        if (extents) g.MapExtents();
        g.MapPost("resolution", PostResolution);
        g.MapPost("info", PostInfo);
    }

    public static void MapExtents(this RouteGroupBuilder g) => g.MapPost("extents", PostExtents);

    /// <summary>Registers the imageblk <c>Extended</c> and <c>Extents</c> members of <c>…/info</c>.</summary>
    public static void RegisterImageInfo(InstanceInfoWriters writers)
    {
        foreach (var name in ImageblkEndpoints.TypeNames)
            writers.Register(name, async (w, ctx, ct) =>
            {
                var vol = ctx.Volume();
                var extents = await vol.GetExtentsAsync(ct);
                w.WriteStartObject("Extended");
                WriteExtended(w, vol, extents);
                w.WriteEndObject();
                w.WriteStartObject("Extents");
                WritePointOrNull(w, "MinPoint", extents?.MinPoint);
                WritePointOrNull(w, "MaxPoint", extents?.MaxPoint);
                w.WriteEndObject();
            });
    }

    public static void WriteExtended(Utf8JsonWriter w, ImageVolume vol, Extents? extents, string? dataType = null, string? label = null)
    {
        var s = vol.Settings;
        w.WriteStartArray("Values");
        w.WriteStartObject();
        w.WriteString("DataType", dataType ?? vol.Voxel.DataTypeName());
        w.WriteString("Label", label ?? vol.Voxel.DataTypeName());
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("Interpolable", true);
        WritePoint(w, "BlockSize", s.BlockSize);
        w.WriteStartArray("VoxelSize");
        foreach (var v in s.VoxelSize) w.WriteNumberValue(v);
        w.WriteEndArray();
        RepoJson.WriteStrings(w, "VoxelUnits", s.VoxelUnits);
        WritePointOrNull(w, "MinPoint", extents?.MinPoint);
        WritePointOrNull(w, "MaxPoint", extents?.MaxPoint);
        WritePointOrNull(w, "MinIndex", extents?.MinPoint.BlockOf(s.BlockSize));
        WritePointOrNull(w, "MaxIndex", extents?.MaxPoint.BlockOf(s.BlockSize));
        w.WriteNumber("Background", s.Background);
        w.WriteString("GridStore", "");
        w.WriteNumber("ScaleLevel", 0);
        if (vol.Pyramid is { } pyramid) w.WriteNumber("MaxDownresLevel", pyramid.MaxLevel);
    }

    private static void WritePoint(Utf8JsonWriter w, string name, Point3 p)
    {
        w.WriteStartArray(name);
        w.WriteNumberValue(p.X);
        w.WriteNumberValue(p.Y);
        w.WriteNumberValue(p.Z);
        w.WriteEndArray();
    }

    public static void WritePointOrNull(Utf8JsonWriter w, string name, Point3? p)
    {
        if (p is { } v) WritePoint(w, name, v);
        else w.WriteNull(name);
    }

    private static async Task Metadata(HttpContext http)
    {
        var vol = http.Instance().Volume();
        var extents = await vol.GetExtentsAsync(http.RequestAborted);
        var s = vol.Settings;
        http.Response.ContentType = "application/vnd.dvid-nd-data+json";
        await using (var w = new Utf8JsonWriter(http.Response.BodyWriter, DvidJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteStartArray("Axes");
            string[] labels = ["X", "Y", "Z"];
            for (int i = 0; i < 3; i++)
            {
                w.WriteStartObject();
                w.WriteString("Label", labels[i]);
                w.WriteNumber("Resolution", s.VoxelSize[i]);
                w.WriteString("Units", s.VoxelUnits[i]);
                w.WriteNumber("Size", extents is null ? 0 : extents.MaxPoint[i] - extents.MinPoint[i] + 1);
                w.WriteNumber("Offset", extents?.MinPoint[i] ?? 0);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("Properties");
            WriteExtended(w, vol, extents);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        await http.Response.BodyWriter.WriteAsync("\n"u8.ToArray(), http.RequestAborted);
    }

    private static Point3 ReadPoint(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var a) || a.ValueKind != JsonValueKind.Array || a.GetArrayLength() != 3 ||
            a.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out _)))
            throw Reject.BadRequest($"'{name}' must be an array of 3 integers");
        return new Point3(a[0].GetInt32(), a[1].GetInt32(), a[2].GetInt32());
    }

    private static async Task PostExtents(HttpContext http, IOptions<DicedOptions> o)
    {
        var vol = http.Instance().Volume();
        using var doc = JsonBody.Parse(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Reject.BadRequest("extents must be a JSON object with MinPoint and MaxPoint");
        var min = ReadPoint(doc.RootElement, "MinPoint");
        var max = ReadPoint(doc.RootElement, "MaxPoint");
        if (max.X < min.X || max.Y < min.Y || max.Z < min.Z) throw Reject.BadRequest("MaxPoint must not be below MinPoint on any axis");
        await vol.SetExtentsAsync(new Extents(min, max), http.RequestAborted);
    }

    /// <summary>DVID's <c>POST …/info</c> (modifyConfig): a JSON object of string settings; answers what changed, in text.</summary>
    private static async Task PostInfo(HttpContext http, IOptions<DicedOptions> o)
    {
        var ctx = http.Instance();
        var config = JsonBody.ParseConfig(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var vol = ctx.Volume();
        var current = await vol.GetExtentsAsync(http.RequestAborted);
        var (settings, extents) = VolumeConfig.Apply(ctx.Instance, config, current, hasData: current is not null);
        await ctx.Store.UpdateInstanceAsync(ctx.Version.Repo, ctx.Instance.Name, inst => inst with { Settings = settings }, http.RequestAborted);
        if (extents is not null) await vol.SetExtentsAsync(extents, http.RequestAborted);
        await InstanceEndpoints.WriteConfigChangedAsync(http, ctx.Instance.Name, config);
    }

    private static async Task PostResolution(HttpContext http, IOptions<DicedOptions> o)
    {
        var ctx = http.Instance();
        using var doc = JsonBody.Parse(await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes));
        var r = doc.RootElement;
        if (r.ValueKind != JsonValueKind.Array || r.GetArrayLength() != 3 || r.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || e.GetDouble() <= 0))
            throw Reject.BadRequest("resolution must be a JSON array of 3 positive numbers");
        var value = ImageSettings.FormatFloats(r.EnumerateArray().Select(e => (float)e.GetDouble()));
        await ctx.Store.UpdateInstanceAsync(ctx.Version.Repo, ctx.Instance.Name,
            inst => inst with { Settings = inst.Settings.SetItem(ImageSettings.VoxelSizeKey, value) }, http.RequestAborted);
    }
}
