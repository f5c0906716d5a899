using System.Globalization;

namespace Diced.Cli;

/// <summary>
/// Reads a DVID TOML configuration (<c>dvid serve config.toml</c>) into Diced server arguments: <c>[server]
/// httpAddress</c> and <c>note</c>, <c>[store.NAME] engine/path</c> and <c>[backend.KEY] store</c>. Only the TOML that
/// DVID configurations use: tables, dotted/quoted table names, strings, numbers, booleans and comments.
/// </summary>
public static class DvidToml
{
    public static Dictionary<string, Dictionary<string, string>> Parse(string text)
    {
        var tables = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal) { [""] = new() };
        var current = tables[""];
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('['))
            {
                if (!line.EndsWith(']')) throw new FormatException($"line {lineNo}: table header \"{line}\" has no closing ]");
                var name = string.Join(".", SplitName(line.Trim('[', ']').Trim(), lineNo));
                if (!tables.TryGetValue(name, out current!)) tables[name] = current = new();
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0) throw new FormatException($"line {lineNo}: expected key = value, got \"{line}\"");
            var key = line[..eq].Trim().Trim('"');
            current[key] = Value(line[(eq + 1)..].Trim(), lineNo);
        }
        return tables;
    }

    private static string StripComment(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '"') quoted = !quoted;
            else if (line[i] == '#' && !quoted) return line[..i];
        }
        return line;
    }

    private static IEnumerable<string> SplitName(string name, int lineNo)
    {
        var parts = new List<string>();
        int i = 0;
        while (i < name.Length)
        {
            if (name[i] == '"')
            {
                int end = name.IndexOf('"', i + 1);
                if (end < 0) throw new FormatException($"line {lineNo}: unterminated quoted table name");
                parts.Add(name[(i + 1)..end]);
                i = end + 1;
            }
            else
            {
                int dot = name.IndexOf('.', i);
                parts.Add(name[i..(dot < 0 ? name.Length : dot)].Trim());
                i = dot < 0 ? name.Length : dot;
            }
            if (i < name.Length && name[i] == '.') i++;
        }
        return parts;
    }

    private static string Value(string v, int lineNo)
    {
        if (v.StartsWith('"'))
        {
            if (v.Length < 2 || !v.EndsWith('"')) throw new FormatException($"line {lineNo}: unterminated string {v}");
            return v[1..^1].Replace("\\\"", "\"").Replace("\\\\", "\\");
        }
        if (v.StartsWith('\'')) return v.Trim('\'');
        if (v is "true" or "false" || double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return v;
        if (v.StartsWith('[')) return v; // arrays are kept as text (DVID uses them for options Diced does not need)
        throw new FormatException($"line {lineNo}: cannot read value {v}");
    }

    /// <summary>Server arguments for a DVID configuration; <paramref name="warnings"/> collects what is not carried over.</summary>
    public static List<string> ToServerArguments(Dictionary<string, Dictionary<string, string>> t, List<string> warnings)
    {
        var args = new List<string>();
        if (t.TryGetValue("server", out var server))
        {
            if (server.TryGetValue("httpAddress", out var http))
            {
                // DVID writes ":8000" or "host:8000".
                var host = http.StartsWith(':') ? "0.0.0.0" + http : http;
                args.AddRange(["--urls", host.Contains("://") ? host : "http://" + host]);
            }
            if (server.TryGetValue("note", out var note)) args.AddRange(["--Diced:Note", note]);
            if (server.TryGetValue("allowLabelmapSplit", out var split)) args.AddRange(["--Diced:AllowLabelmapSplit", split]);
            foreach (var k in server.Keys.Except(["httpAddress", "note", "allowLabelmapSplit"])) warnings.Add($"[server] {k} is not used by Diced");
        }
        var stores = t.Where(kv => kv.Key.StartsWith("store.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["store.".Length..], kv => kv.Value);
        string? defaultStore = t.TryGetValue("backend.default", out var bd) && bd.TryGetValue("store", out var s) ? s : stores.Keys.FirstOrDefault();
        foreach (var (name, store) in stores)
        {
            var location = Location(name, store, warnings);
            if (name == defaultStore) args.AddRange(["--data", location]);
            else args.AddRange([$"--Diced:Stores:{name}", location]);
        }
        foreach (var (key, backend) in t.Where(kv => kv.Key.StartsWith("backend.", StringComparison.Ordinal) && kv.Key != "backend.default"))
        {
            if (!backend.TryGetValue("store", out var store)) continue;
            var spec = key["backend.".Length..].Replace(':', '/'); // "uuid:name" → Diced's "uuid/name"
            args.AddRange([$"--Diced:Backend:{spec}", store == defaultStore ? "default" : store]);
        }
        return args;
    }

    private static string Location(string name, Dictionary<string, string> store, List<string> warnings)
    {
        var engine = store.GetValueOrDefault("engine", "");
        switch (engine)
        {
            case "gbucket":
                var bucket = store.GetValueOrDefault("bucket") ?? throw new FormatException($"[store.{name}] engine gbucket needs a bucket");
                return $"gs://{bucket}/{store.GetValueOrDefault("path", "").Trim('/')}";
            case "s3" or "s3bucket":
                return $"s3://{store.GetValueOrDefault("bucket")}/{store.GetValueOrDefault("path", "").Trim('/')}";
            default:
                var path = store.GetValueOrDefault("path") ?? throw new FormatException($"[store.{name}] has no path");
                if (engine is not ("" or "basholeveldb" or "badger" or "rocksdb" or "leveldb" or "filestore"))
                    warnings.Add($"[store.{name}] engine \"{engine}\" is served by Diced's embedded store at {path}");
                return path;
        }
    }
}
