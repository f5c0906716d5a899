using System.Text.Json;
using Diced.Server.Http;
using static Diced.Server.Endpoints.Labels.LabelRequests;

namespace Diced.Server.Endpoints.Labels;

/// <summary>Routes only labelmap has: tags, proximity, and fvdb (refused: Diced cannot write NanoVDB).</summary>
internal static class LabelmapEndpoints
{
    public static void Map(RouteGroupBuilder labelmap)
    {
        labelmap.MapTags(); // neuclease's create_instance(…, tags=…) posts them
        labelmap.MapMethods("proximity/{labels}", DvidRouting.GetAndHead, Proximity);
        labelmap.MapMethods("fvdb/{label}", DvidRouting.GetAndHead, (string label) =>
        {
            ParseNonZeroLabel(label);
            throw Reject.BadRequest("fvdb export (NanoVDB IndexGrid) is not available on this server; use sparsevol or sparsevol?format=blocks for the label's voxels");
        });
    }

    /// <summary>
    /// <c>GET proximity/&lt;target&gt;,&lt;label a&gt;,&lt;label b&gt;,…</c>: <c>[{"Block": [x, y, z], "Label": a, "Distance": d}, …]</c>
    /// for each block the target shares with another label; "Label" is left out when only two labels are given.
    /// </summary>
    private static async Task Proximity(HttpContext http, string labels)
    {
        var parsed = labels.Split(',').Select(ParseNonZeroLabel).ToList();
        if (parsed.Count < 2) throw Reject.BadRequest("proximity needs a target label and at least one other, e.g. proximity/12,34");
        if (parsed.Skip(1).Contains(parsed[0])) throw Reject.BadRequest("the target label cannot also be one of the labels compared with it");
        var result = await LabelsOf(http).ProximityAsync(parsed[0], parsed.Skip(1).ToList(), http.RequestAborted)
            ?? throw Reject.NotFound($"one of the labels {labels} does not exist");
        bool withLabel = parsed.Count > 2;
        await Json.DvidJson.WriteAsync(http, (Utf8JsonWriter w) =>
        {
            w.WriteStartArray();
            foreach (var p in result)
            {
                w.WriteStartObject();
                w.WriteStartArray("Block");
                w.WriteNumberValue(p.Block.X);
                w.WriteNumberValue(p.Block.Y);
                w.WriteNumberValue(p.Block.Z);
                w.WriteEndArray();
                if (withLabel) w.WriteNumber("Label", p.Label);
                w.WriteNumber("Distance", p.Distance);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }
}
