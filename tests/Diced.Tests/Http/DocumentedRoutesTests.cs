using System.Text.RegularExpressions;
using Diced.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Diced.Tests.Http;

/// <summary>
/// The instance routes Diced serves equal the routes DVID documents for the same datatypes
/// (<c>DvidDocumentedRoutes.txt</c>, with the DVID commit it came from), plus the extras listed here with a reason.
/// </summary>
public class DocumentedRoutesTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private static readonly Dictionary<string, string[]> Families = new()
    {
        ["imageblk"] = ["uint8blk", "uint16blk", "uint32blk", "uint64blk", "float32blk"],
        ["keyvalue"] = ["keyvalue"], ["labelarray"] = ["labelarray"], ["labelblk"] = ["labelblk"],
        ["labelmap"] = ["labelmap"], ["roi"] = ["roi"], ["labelvol"] = ["labelvol"], ["annotation"] = ["annotation"], ["labelsz"] = ["labelsz"],
        ["tarsupervoxels"] = ["tarsupervoxels"], ["neuronjson"] = ["neuronjson"],
    };

    /// <summary>Routes Diced serves beyond DVID's documentation: "family METHOD path", and why.</summary>
    private static readonly Dictionary<string, string> Extras = new Dictionary<string, string>
    {
        ["keyvalue DELETE key/*"] = "DVID's handler deletes keys; its help text does not list the verb",
        ["keyvalue GET keys/**"] = "DVID ignores what follows keys/ (libdvid sends keys/0/z)",
        ["keyvalue GET keyrange/**"] = "a clear 400 for a keyrange without two keys",
        ["keyvalue GET keyrangevalues/**"] = "a clear 400 for a keyrangevalues without two keys",
        ["keyvalue GET keyrange/*/*/**"] = "DVID ignores segments after the two keys",
        ["keyvalue GET keyrangevalues/*/*/**"] = "DVID ignores segments after the two keys",
        ["keyvalue GET key"] = "a clear 400 for key/ without a key", ["keyvalue POST key"] = "a clear 400 for key/ without a key",
        ["keyvalue DELETE key"] = "a clear 400 for key/ without a key", ["keyvalue PUT key/*"] = "DVID's message for PUT",
        ["roi DELETE roi"] = "DVID's handler deletes an ROI; its help text does not list the verb",
        ["labelmap GET split/*"] = "DVID's \"must be POST\" message", ["labelmap GET split-supervoxel/*"] = "DVID's \"must be POST\" message",
        ["labelmap GET merge"] = "DVID's \"must be POST\" message", ["labelmap GET cleave/*"] = "DVID's \"must be POST\" message",
        ["labelmap GET renumber"] = "DVID's \"must be POST\" message", ["labelmap POST labels"] = "DVID's \"must be a GET\" message",
        ["labelarray GET split/*"] = "DVID's \"must be POST\" message", ["labelarray GET merge"] = "DVID's \"must be POST\" message",
        ["labelarray GET split-coarse/*"] = "DVID's \"must be POST\" message", ["labelarray POST labels"] = "DVID's \"must be a GET\" message",
        ["labelvol GET split/*"] = "DVID's \"must be POST\" message", ["labelvol GET merge"] = "DVID's \"must be POST\" message",
        ["labelvol GET split-coarse/*"] = "DVID's \"must be POST\" message", ["labelblk POST labels"] = "DVID's \"must be a GET\" message",
        ["keyvalue PATCH key/*"] = "DVID's message for PATCH",
        ["imageblk POST info"] = "DVID's modifyConfig (voxel size, units, background, extents) on image volumes too",
        ["imageblk POST downres/*/*/*"] = "builds pyramid levels (MaxDownresLevel) of image types for data written before they existed; DVID keeps no image pyramids",
        ["labelblk GET pseudocolor/*/*/*/*"] = "the format named explicitly (png, the only one)",
        ["labelarray GET pseudocolor/*/*/*/*"] = "the format named explicitly (png, the only one)",
        ["labelmap GET pseudocolor/*/*/*/*"] = "the format named explicitly (png, the only one)",
        ["annotation GET mutations"] = "the durable log of element changes (DVID sends them to Kafka)",
    }.Concat(Families.Keys.Select(family => KeyValuePair.Create($"{family} GET diff/*",
        "Diced's diff of an instance between two versions (issue 19), for every type")))
     .ToDictionary(kv => kv.Key, kv => kv.Value);

    private sealed record Route(string Family, string Method, string[] Segments)
    {
        public override string ToString() => $"{Family} {Method} {string.Join('/', Segments)}";
    }

    /// <summary>Documented routes, one per optional-segment variant; parameters become "*", query strings are dropped.</summary>
    private static List<(Route Route, string Line)> Documented()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Http", "DvidDocumentedRoutes.txt");
        var routes = new List<(Route, string)>();
        foreach (var line in File.ReadAllLines(path).Where(l => l.Length > 0 && l[0] != '#'))
        {
            var parts = line.Split(' ', 3);
            var p = Regex.Replace(parts[2], @"\[\?[^\]]*\]", "");
            p = Regex.Replace(p, @"\?.*$", "");
            var variants = new List<string>();
            var optional = Regex.Match(p, @"\[(/[^\]]*)\]");
            if (optional.Success)
            {
                variants.Add(p.Remove(optional.Index, optional.Length));
                variants.Add(p.Remove(optional.Index, optional.Length).Insert(optional.Index, optional.Groups[1].Value));
            }
            else variants.Add(p);
            foreach (var v in variants)
                routes.Add((new Route(parts[0], parts[1], v.Split('/').Select(s => s.Contains('<') ? "*" : s).ToArray()), line));
        }
        return routes;
    }

    /// <summary>Served instance routes per family: parameters "*", catch-alls "**"; HEAD twins of GET routes folded into GET.</summary>
    private List<Route> Served()
    {
        var routes = new List<Route>();
        var sources = f.Factory.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        foreach (var e in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            var m = Regex.Match(e.RoutePattern.RawText ?? "", @"^/?api/node/\{uuid\}/\{name(?::datatype\(([^)]*)\))?\}/(.+)$");
            if (!m.Success || m.Groups[2].Value == "{**rest}") continue; // not an instance route, or the "Bad API call" fallback
            var types = m.Groups[1].Success ? m.Groups[1].Value.Split('|') : null;
            var segments = m.Groups[2].Value.Split('/').Select(s => s.StartsWith("{**") ? "**" : s.StartsWith('{') ? "*" : s).ToArray();
            var methods = e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var (family, members) in Families)
            {
                if (types is not null && !members.All(types.Contains)) continue;
                foreach (var method in methods.Where(x => x != "HEAD" || !methods.Contains("GET")))
                    routes.Add(new Route(family, method, segments));
            }
        }
        return routes;
    }

    private static bool Serves(Route served, Route documented)
    {
        if (served.Family != documented.Family || (served.Method != documented.Method && !(documented.Method == "HEAD" && served.Method == "GET"))) return false;
        var s = served.Segments;
        var d = documented.Segments;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == "**") return true;
            if (i >= d.Length) return false;
            if (s[i] != "*" && s[i] != d[i]) return false;
        }
        return s.Length == d.Length;
    }

    [Fact]
    public void Every_documented_route_is_served()
    {
        var served = Served();
        var missing = Documented().Where(d => !served.Any(s => Serves(s, d.Route))).Select(d => $"{d.Route}   ({d.Line})").Distinct().ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} documented routes are not served:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void Every_served_route_is_documented_or_a_listed_extra()
    {
        var documented = Documented().Select(d => d.Route).ToList();
        var unexplained = Served().Where(s => !documented.Any(d => Serves(s, d)) && !Extras.ContainsKey(s.ToString()))
            .Select(s => s.ToString()).Distinct().Order().ToList();
        Assert.True(unexplained.Count == 0, $"{unexplained.Count} served routes are neither documented by DVID nor listed as extras:\n" + string.Join("\n", unexplained));
        // Every listed extra is still served (the list does not rot).
        var served = Served().Select(s => s.ToString()).ToHashSet();
        Assert.Empty(Extras.Keys.Where(k => !served.Contains(k)));
    }
}
