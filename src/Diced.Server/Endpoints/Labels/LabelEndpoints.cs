using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Diced.Codecs;
using Diced.Codecs.Labels;
using Diced.Codecs.SparseVolumes;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Server.Endpoints.Imageblk;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Routes of labelblk (§9), labelmap and labelarray (§10): the route table; each route group has its own file.</summary>
public static class LabelEndpoints
{
    public static readonly string[] TypeNames = ["labelblk", "labelmap", "labelarray"];
    public static readonly string[] IndexedTypes = ["labelmap", "labelarray"];

    public static void MapLabelEndpoints(this IEndpointRouteBuilder app)
    {
        // Each type serves the routes DVID documents for it (DocumentedRoutesTests): labelblk the voxel routes,
        // labelarray those and its label queries and relabelling mutations, labelvol sparse volumes and mutations of
        // the labelblk it views, labelmap everything built on supervoxels and indices.
        var g = new LabelRouteGroups(
            Voxels: app.MapDataType(TypeNames),
            Indexed: app.MapDataType(IndexedTypes),
            Sparse: app.MapDataType("labelmap", "labelarray", "labelvol"),
            Relabelling: app.MapDataType("labelarray", "labelvol"),
            Labelmap: app.MapDataType("labelmap"),
            Labelvol: app.MapDataType("labelvol"));
        LabelVoxelEndpoints.Map(g.Voxels);
        g.Voxels.MapSync();
        g.Voxels.MapVolumeMetadata(extents: false);
        g.Labelmap.MapExtents();
        LabelBlockEndpoints.Map(g.Voxels, g.Indexed, g.Labelmap);
        SparsevolEndpoints.Map(g);
        LabelQueryEndpoints.Map(g);
        MutationEndpoints.Map(g);
        IndexEndpoints.Map(g.Labelmap);
        LabelmapEndpoints.Map(g.Labelmap);
        LabelvolEndpoints.Map(g.Labelvol);
    }

    /// <summary>Route groups of the label types, by the routes they share.</summary>
    internal sealed record LabelRouteGroups(RouteGroupBuilder Voxels, RouteGroupBuilder Indexed, RouteGroupBuilder Sparse,
        RouteGroupBuilder Relabelling, RouteGroupBuilder Labelmap, RouteGroupBuilder Labelvol);

    /// <summary>The label volume of the request's instance, with the requester recorded for mutations.</summary>
    public static LabelVolume Labels(this InstanceContext ctx, HttpContext? http = null)
    {
        var context = http is null ? MutationContext.Anonymous : new MutationContext(Auth.Caller.UserOf(http), http.Request.Query["app"].ToString());
        return ctx.Store.LabelVolumeOf(ctx.Data, context);
    }

    /// <summary>Registers the label types' <c>Extended</c> and <c>Extents</c> members of <c>…/info</c>.</summary>
    public static void RegisterLabelInfo(InstanceInfoWriters writers)
    {
        foreach (var name in TypeNames)
            writers.Register(name, async (w, ctx, ct) =>
            {
                var labels = ctx.Labels();
                var vol = labels.Volume;
                var extents = await vol.GetExtentsAsync(ct);
                w.WriteStartObject("Extended");
                VolumeMetadataEndpoints.WriteExtended(w, vol, extents, "uint64", "labels");
                w.WriteNumber("MaxDownresLevel", int.Parse(ctx.Instance.Settings.GetValueOrDefault(LabelType.MaxDownresKey, "0"), CultureInfo.InvariantCulture));
                w.WriteBoolean("IndexedLabels", labels.Indexed);
                if (labels.Type.Kind != LabelKind.Labelblk)
                {
                    var max = await labels.MaxLabelAsync(ct);
                    w.WriteNumber("MaxLabel", max ?? 0);
                    w.WriteNumber("MaxRepoLabel", await labels.NextLabelAsync(ct) - 1);
                }
                w.WriteEndObject();
                w.WriteStartObject("Extents");
                VolumeMetadataEndpoints.WritePointOrNull(w, "MinPoint", extents?.MinPoint);
                VolumeMetadataEndpoints.WritePointOrNull(w, "MaxPoint", extents?.MaxPoint);
                w.WriteEndObject();
            });
    }

}
