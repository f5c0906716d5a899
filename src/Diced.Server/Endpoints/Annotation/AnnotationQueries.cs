using System.Buffers;
using Diced.Codecs.Annotations;
using Diced.Datastore.Geometry;
using Diced.Datastore.Types.Annotation;
using Diced.Datastore.Types.Roi;
using Diced.Server.Http;
using static Diced.Server.Endpoints.Annotation.AnnotationEndpoints;

namespace Diced.Server.Endpoints.Annotation;

/// <summary>The annotation reads, answered in DVID's JSON: label, tag, elements, blocks, all-elements, roi, scan.</summary>
internal static class AnnotationQueries
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapMethods("label/{label}", DvidRouting.GetAndHead, ByLabel);
        g.MapMethods("tag/{tag}", DvidRouting.GetAndHead, ByTag);
        g.MapMethods("elements/{size}/{offset}", DvidRouting.GetAndHead, InBox);
        g.MapMethods("blocks/{size}/{offset}", DvidRouting.GetAndHead, Blocks);
        g.MapMethods("all-elements", DvidRouting.GetAndHead, (HttpContext http) => WriteBlocksAsync(http, Of(http).AllBlocksAsync(http.RequestAborted)));
        g.MapMethods("roi/{spec}", DvidRouting.GetAndHead, InRoi);
        g.MapMethods("scan", DvidRouting.GetAndHead, async (HttpContext http) =>
            await Json.DvidJson.WriteRawAsync(http, $"{{\"num kv pairs\":{await Of(http).CountBlocksAsync(http.RequestAborted)},\"num empty blocks\":0}}"));
    }

    private enum RelsMode { None, Full, Verbose }

    /// <summary><c>relationships=true</c> or <c>verbose</c> (exactly, as DVID); anything else leaves them out.</summary>
    private static RelsMode Mode(HttpContext http) => http.Request.Query["relationships"].ToString() switch
    {
        "true" => RelsMode.Full, "verbose" => RelsMode.Verbose, _ => RelsMode.None,
    };

    private static async Task ByLabel(HttpContext http, string label)
    {
        if (!ulong.TryParse(label, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var l))
            throw Reject.BadRequest($"label \"{label}\" is not a non-negative 64-bit integer");
        var mode = Mode(http);
        var (elements, partners) = await Of(http).ByLabelAsync(l, mode == RelsMode.Verbose, http.RequestAborted);
        await WriteListed(http, elements, partners, mode);
    }

    private static async Task ByTag(HttpContext http, string tag)
    {
        var mode = Mode(http);
        var (elements, partners) = await Of(http).ByTagAsync(tag, mode == RelsMode.Verbose, http.RequestAborted);
        await WriteListed(http, elements, partners, mode);
    }

    private static Task WriteListed(HttpContext http, List<Element> elements, Dictionary<ElementPos, Element> partners, RelsMode mode)
    {
        var w = new ArrayBufferWriter<byte>();
        if (mode == RelsMode.Verbose)
        {
            GoJson.Byte(w, (byte)'[');
            for (int i = 0; i < elements.Count; i++)
            {
                if (i > 0) GoJson.Byte(w, (byte)',');
                ElementJson.WriteVerbose(w, elements[i], p => partners.GetValueOrDefault(p));
            }
            GoJson.Byte(w, (byte)']');
        }
        else ElementJson.WriteArray(w, elements, rels: mode == RelsMode.Full);
        return Send(http, w);
    }

    /// <summary><c>elements/&lt;size&gt;/&lt;offset&gt;</c>: the elements inside the box, with relationships; <c>null</c> when none (as DVID).</summary>
    private static async Task InBox(HttpContext http, string size, string offset)
    {
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        await StreamArrayOrNull(http, Of(http).InBoxAsync(box, http.RequestAborted));
    }

    /// <summary><c>roi/&lt;roiname&gt;[,&lt;uuid&gt;]</c>: every element of the ROI's blocks; <c>null</c> when none (as DVID).</summary>
    private static async Task InRoi(HttpContext http, string spec)
    {
        var parts = spec.Split(',');
        if (parts.Length > 2) throw Reject.BadRequest($"Bad ROI specification: \"{spec}\"");
        var ctx = http.Instance();
        var version = parts.Length == 2 ? ctx.Store.Resolve(parts[1]) : ctx.Version;
        var inst = ctx.Store.GetInstance(version, parts[0]);
        if (inst.TypeName != "roi") throw Reject.BadRequest($"No ROI found that matches specification \"{spec}\"");
        var roi = await new RoiData(ctx.Store.DataAt(version, inst)).IndexAsync(http.RequestAborted);
        // The enumeration checks the block sizes before its first element, so a mismatch is still a clean 400.
        await StreamArrayOrNull(http, Of(http).InRoiAsync(roi, parts[0], http.RequestAborted));
    }

    /// <summary>Streams a JSON array of the elements, block by block, flushing every few hundred KiB; <c>null</c> when there are none.</summary>
    private static async Task StreamArrayOrNull(HttpContext http, IAsyncEnumerable<List<Element>> blocks)
    {
        http.Response.ContentType = "application/json";
        var body = http.Response.BodyWriter;
        var w = new ArrayBufferWriter<byte>(1 << 16);
        bool first = true;
        await foreach (var elements in blocks)
            foreach (var e in elements)
            {
                GoJson.Byte(w, first ? (byte)'[' : (byte)',');
                first = false;
                ElementJson.Write(w, e);
                if (w.WrittenCount >= 256 << 10)
                {
                    await body.WriteAsync(w.WrittenMemory, http.RequestAborted);
                    w.ResetWrittenCount();
                }
            }
        GoJson.Raw(w, first ? "null"u8 : "]"u8);
        await body.WriteAsync(w.WrittenMemory, http.RequestAborted);
    }

    /// <summary><c>blocks/&lt;size&gt;/&lt;offset&gt;</c>: every element of the blocks meeting the box, by block.</summary>
    private static Task Blocks(HttpContext http, string size, string offset)
    {
        var box = GeometryStrings.ParseBox(DataShape.Volume, size, offset);
        var a = Of(http);
        return WriteBlocksAsync(http, a.BlocksAsync(box.FirstBlock(a.BlockSize), box.LastBlock(a.BlockSize), http.RequestAborted));
    }

    /// <summary>Streams <c>{"bx,by,bz":[elements],…}</c>, flushing every few hundred KiB.</summary>
    private static async Task WriteBlocksAsync(HttpContext http, IAsyncEnumerable<(Point3 Block, List<Element> Elements)> blocks)
    {
        http.Response.ContentType = "application/json";
        var body = http.Response.BodyWriter;
        var w = new ArrayBufferWriter<byte>(1 << 16);
        GoJson.Byte(w, (byte)'{');
        bool first = true;
        await foreach (var (b, elements) in blocks)
        {
            if (!first) GoJson.Byte(w, (byte)',');
            first = false;
            GoJson.String(w, $"{b.X},{b.Y},{b.Z}");
            GoJson.Byte(w, (byte)':');
            ElementJson.WriteArray(w, elements);
            if (w.WrittenCount >= 256 << 10)
            {
                await body.WriteAsync(w.WrittenMemory, http.RequestAborted);
                w.ResetWrittenCount();
            }
        }
        GoJson.Byte(w, (byte)'}');
        await body.WriteAsync(w.WrittenMemory, http.RequestAborted);
    }

    private static async Task Send(HttpContext http, ArrayBufferWriter<byte> w)
    {
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = w.WrittenCount;
        if (HttpMethods.IsHead(http.Request.Method)) return;
        await http.Response.Body.WriteAsync(w.WrittenMemory, http.RequestAborted);
    }
}
