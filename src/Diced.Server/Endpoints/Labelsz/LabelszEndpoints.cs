using System.Globalization;
using System.Text;
using Diced.Datastore.Types.Labelsz;
using Diced.Server.Http;
using Diced.Server.Json;
using Microsoft.Extensions.Options;

namespace Diced.Server.Endpoints.Labelsz;

/// <summary>The <c>labelsz</c> type's routes: count, counts, top, threshold, reload, sync.</summary>
public static class LabelszEndpoints
{
    /// <summary>DVID's page size for <c>threshold</c> when <c>n</c> is absent or 0.</summary>
    public const int DefaultThresholdPage = 10000;

    public static void MapLabelszEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapDataType("labelsz");
        g.MapSync();
        g.MapMethods("count/{label}/{index}", DvidRouting.GetAndHead, Count);
        g.MapMethods("counts/{index}", DvidRouting.GetAndHead, Counts);
        g.MapMethods("top/{n}/{index}", DvidRouting.GetAndHead, Top);
        g.MapMethods("threshold/{t}/{index}", DvidRouting.GetAndHead, Threshold);
        g.MapPost("reload", async (HttpContext http) =>
        {
            var ctx = http.Instance();
            await ctx.Store.ReloadLabelSizesAsync(ctx.Data, http.RequestAborted);
        });
    }

    private static LabelSizes Of(HttpContext http)
    {
        var ctx = http.Instance();
        return ctx.Store.LabelSizesOf(ctx.Data);
    }

    private static ulong Parse(string text, ulong max, string what)
        => ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v <= max
            ? v : throw Reject.BadRequest($"{what} \"{text}\" is not an integer from 0 to {max}");

    /// <summary><c>{"Label":N,"&lt;Index&gt;":count}</c> as DVID writes it (no spaces).</summary>
    private static async Task Count(HttpContext http, string label, string index)
    {
        ulong l = Parse(label, ulong.MaxValue, "label");
        var i = LabelSizes.ParseIndex(index);
        await DvidJson.WriteRawAsync(http, $"{{\"Label\":{l},\"{i}\":{await Of(http).CountAsync(l, i, http.RequestAborted)}}}");
    }

    /// <summary><c>counts/&lt;index&gt;</c> with a JSON array of labels in the GET body.</summary>
    private static async Task Counts(HttpContext http, string index, IOptions<DicedOptions> o)
    {
        var i = LabelSizes.ParseIndex(index);
        var body = await RequestBody.ReadAsync(http, o.Value.MaxJsonBytes);
        List<ulong> labels;
        try { labels = System.Text.Json.JsonSerializer.Deserialize<List<ulong>>(body) ?? []; }
        catch (System.Text.Json.JsonException e) { throw Reject.BadRequest($"Bad JSON label array sent in 'counts' query: {(body.Length == 0 ? "unexpected end of JSON input" : e.Message)}"); }
        var counts = await Of(http).CountsAsync(labels, i, http.RequestAborted);
        var sb = new StringBuilder("[");
        foreach (var c in counts) sb.Append(sb.Length > 1 ? "," : "").Append($"{{\"Label\":{c.Label},\"{i}\":{c.Size}}}");
        await DvidJson.WriteRawAsync(http, sb.Append(']').ToString());
    }

    private static async Task Top(HttpContext http, string n, string index)
    {
        long count = (long)Parse(n, uint.MaxValue, "N");
        var i = LabelSizes.ParseIndex(index);
        await WriteSizes(http, await Of(http).RankedAsync(i, 0, 0, count, http.RequestAborted));
    }

    /// <summary><c>threshold/&lt;T&gt;/&lt;index&gt;[?offset=O&amp;n=K]</c>: bodies with at least T, from rank O (0-based), at most K (10,000 by default).</summary>
    private static async Task Threshold(HttpContext http, string t, string index)
    {
        ulong threshold = Parse(t, uint.MaxValue, "threshold");
        var i = LabelSizes.ParseIndex(index);
        long offset = 0, n = 0;
        var os = http.Request.Query["offset"].ToString();
        if (os.Length > 0 && !long.TryParse(os, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out offset))
            throw Reject.BadRequest($"bad offset specified in query string (\"{os}\")");
        var ns = http.Request.Query["n"].ToString();
        if (ns.Length > 0 && !long.TryParse(ns, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))
            throw Reject.BadRequest($"bad num specified in query string (\"{ns}\")");
        if (n < 0) throw Reject.BadRequest($"bad number of requested labels ({n})");
        if (n == 0) n = DefaultThresholdPage;
        if (offset < 0) (n, offset) = (n + offset, 0); // DVID: a negative offset gives the first offset + n
        await WriteSizes(http, await Of(http).RankedAsync(i, threshold, offset, n, http.RequestAborted));
    }

    private static Task WriteSizes(HttpContext http, List<LabelSize> sizes)
    {
        var sb = new StringBuilder("[");
        foreach (var s in sizes) sb.Append(sb.Length > 1 ? "," : "").Append($"{{\"Label\":{s.Label},\"Size\":{s.Size}}}");
        return DvidJson.WriteRawAsync(http, sb.Append(']').ToString());
    }
}
