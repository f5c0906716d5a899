using System.Buffers;
using System.Text.Json;

namespace Diced.Codecs.Annotations;

/// <summary>
/// DVID's JSON for annotation elements: <c>{"Pos":[x,y,z],"Kind":"PreSyn","Tags":[…],"Prop":{…},"Rels":[{"Rel":…,"To":[…]}]}</c>,
/// written as DVID's Go structs write it (field order, compact, Go string escapes) and read as DVID reads it (field
/// names in any case, unknown fields ignored). Malformed input throws <see cref="InvalidDataException"/>.
/// </summary>
public static class ElementJson
{
    public static string KindName(ElementKind k) => k switch
    {
        ElementKind.PostSyn => "PostSyn", ElementKind.PreSyn => "PreSyn", ElementKind.Gap => "Gap", ElementKind.Note => "Note", _ => "Unknown",
    };

    public static string RelName(RelationKind r) => r switch
    {
        RelationKind.PostSynTo => "PostSynTo", RelationKind.PreSynTo => "PreSynTo", RelationKind.ConvergentTo => "ConvergentTo",
        RelationKind.GroupedWith => "GroupedWith", _ => "UnknownRelationship",
    };

    // ------------------------------------------------------------------ writing

    /// <summary>One element; without its relationships when <paramref name="rels"/> is false (DVID's <c>ElementNR</c>).</summary>
    public static void Write(IBufferWriter<byte> w, Element e, bool rels = true)
    {
        WriteHead(w, e);
        if (rels)
        {
            GoJson.Raw(w, ",\"Rels\":["u8);
            for (int i = 0; i < e.Rels.Count; i++)
            {
                if (i > 0) GoJson.Byte(w, (byte)',');
                WriteRel(w, e.Rels[i]);
                GoJson.Byte(w, (byte)'}');
            }
            GoJson.Byte(w, (byte)']');
        }
        GoJson.Byte(w, (byte)'}');
    }

    /// <summary>
    /// DVID's verbose form: each relationship also carries its partner's <c>Kind</c>, <c>Tags</c> and <c>Prop</c> (left
    /// out when unknown or empty; only <c>Rel</c> and <c>To</c> when the partner is not found).
    /// </summary>
    public static void WriteVerbose(IBufferWriter<byte> w, Element e, Func<ElementPos, Element?> partner)
    {
        WriteHead(w, e);
        GoJson.Raw(w, ",\"Rels\":["u8);
        for (int i = 0; i < e.Rels.Count; i++)
        {
            if (i > 0) GoJson.Byte(w, (byte)',');
            WriteRel(w, e.Rels[i]);
            if (partner(e.Rels[i].To) is { } p)
            {
                if (p.Kind != ElementKind.Unknown) { GoJson.Raw(w, ",\"Kind\":"u8); GoJson.String(w, KindName(p.Kind)); }
                if (p.Tags.Count > 0) { GoJson.Raw(w, ",\"Tags\":"u8); WriteTags(w, p.Tags); }
                if (p.Prop.Count > 0) { GoJson.Raw(w, ",\"Prop\":"u8); WriteProp(w, p.Prop); }
            }
            GoJson.Byte(w, (byte)'}');
        }
        GoJson.Raw(w, "]}"u8);
    }

    /// <summary>A JSON array of elements.</summary>
    public static void WriteArray(IBufferWriter<byte> w, IEnumerable<Element> elements, bool rels = true)
    {
        GoJson.Byte(w, (byte)'[');
        bool first = true;
        foreach (var e in elements)
        {
            if (!first) GoJson.Byte(w, (byte)',');
            first = false;
            Write(w, e, rels);
        }
        GoJson.Byte(w, (byte)']');
    }

    public static void WritePos(IBufferWriter<byte> w, ElementPos p)
    {
        GoJson.Byte(w, (byte)'[');
        GoJson.Int(w, p.X);
        GoJson.Byte(w, (byte)',');
        GoJson.Int(w, p.Y);
        GoJson.Byte(w, (byte)',');
        GoJson.Int(w, p.Z);
        GoJson.Byte(w, (byte)']');
    }

    private static void WriteHead(IBufferWriter<byte> w, Element e)
    {
        GoJson.Raw(w, "{\"Pos\":"u8);
        WritePos(w, e.Pos);
        GoJson.Raw(w, ",\"Kind\":"u8);
        GoJson.String(w, KindName(e.Kind));
        GoJson.Raw(w, ",\"Tags\":"u8);
        WriteTags(w, e.Tags);
        GoJson.Raw(w, ",\"Prop\":"u8);
        WriteProp(w, e.Prop);
    }

    private static void WriteRel(IBufferWriter<byte> w, Relationship r)
    {
        GoJson.Raw(w, "{\"Rel\":"u8);
        GoJson.String(w, RelName(r.Rel));
        GoJson.Raw(w, ",\"To\":"u8);
        WritePos(w, r.To);
    }

    private static void WriteTags(IBufferWriter<byte> w, List<string> tags)
    {
        GoJson.Byte(w, (byte)'[');
        for (int i = 0; i < tags.Count; i++)
        {
            if (i > 0) GoJson.Byte(w, (byte)',');
            GoJson.String(w, tags[i]);
        }
        GoJson.Byte(w, (byte)']');
    }

    private static void WriteProp(IBufferWriter<byte> w, SortedDictionary<string, string> prop)
    {
        GoJson.Byte(w, (byte)'{');
        bool first = true;
        foreach (var (k, v) in prop)
        {
            if (!first) GoJson.Byte(w, (byte)',');
            first = false;
            GoJson.String(w, k);
            GoJson.Byte(w, (byte)':');
            GoJson.String(w, v);
        }
        GoJson.Byte(w, (byte)'}');
    }

    // ------------------------------------------------------------------ reading

    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 };

    /// <summary>A JSON array of elements (<c>null</c> reads as none).</summary>
    public static List<Element> ParseArray(ReadOnlySpan<byte> json)
    {
        var r = new Utf8JsonReader(json, Options);
        try
        {
            Read(ref r);
            var list = ReadElementList(ref r, "elements");
            if (r.Read()) throw new InvalidDataException("unexpected data after the JSON array of elements");
            return list;
        }
        catch (JsonException e) { throw new InvalidDataException($"malformed JSON of elements: {e.Message}"); }
    }

    /// <summary>DVID's block-keyed form: <c>{"bx,by,bz": [elements], …}</c>, keys as sent.</summary>
    public static List<(string Key, List<Element> Elements)> ParseBlocks(ReadOnlySpan<byte> json)
    {
        var r = new Utf8JsonReader(json, Options);
        try
        {
            Read(ref r);
            if (r.TokenType != JsonTokenType.StartObject) throw new InvalidDataException("expected a JSON object of block coordinates to element arrays, e.g. {\"1,2,3\": [...]}");
            var blocks = new List<(string, List<Element>)>();
            while (true)
            {
                Read(ref r);
                if (r.TokenType == JsonTokenType.EndObject) break;
                var key = Text(ref r);
                Read(ref r);
                blocks.Add((key, ReadElementList(ref r, $"block \"{key}\"")));
            }
            if (r.Read()) throw new InvalidDataException("unexpected data after the JSON object of blocks");
            return blocks;
        }
        catch (JsonException e) { throw new InvalidDataException($"malformed JSON of blocks: {e.Message}"); }
    }

    /// <summary>
    /// A string or property name as Go's decoder reads it: an unpaired surrogate escape (<c>"\ud800"</c>), which .NET
    /// refuses to turn into a string, becomes U+FFFD.
    /// </summary>
    private static string Text(ref Utf8JsonReader r)
    {
        try { return r.GetString()!; }
        catch (InvalidOperationException) when (r.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
        {
            var raw = r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan.ToArray();
            var sb = new System.Text.StringBuilder(raw.Length);
            int start = 0;
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] != '\\') continue;
                sb.Append(System.Text.Encoding.UTF8.GetString(raw, start, i - start));
                char c = (char)raw[++i];
                if (c == 'u') { sb.Append((char)Convert.ToUInt16(System.Text.Encoding.ASCII.GetString(raw, i + 1, 4), 16)); i += 4; }
                else sb.Append(c switch { 'b' => '\b', 'f' => '\f', 'n' => '\n', 'r' => '\r', 't' => '\t', _ => c });
                start = i + 1;
            }
            sb.Append(System.Text.Encoding.UTF8.GetString(raw, start, raw.Length - start));
            for (int i = 0; i < sb.Length; i++)
            {
                if (char.IsHighSurrogate(sb[i]) && i + 1 < sb.Length && char.IsLowSurrogate(sb[i + 1])) i++;
                else if (char.IsSurrogate(sb[i])) sb[i] = '\uFFFD';
            }
            return sb.ToString();
        }
    }

    private static void Read(ref Utf8JsonReader r)
    {
        if (!r.Read()) throw new InvalidDataException("unexpected end of JSON input");
    }

    private static List<Element> ReadElementList(ref Utf8JsonReader r, string what)
    {
        var list = new List<Element>();
        if (r.TokenType == JsonTokenType.Null) return list;
        if (r.TokenType != JsonTokenType.StartArray) throw new InvalidDataException($"{what} must be a JSON array of elements");
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndArray) return list;
            list.Add(ReadElement(ref r));
        }
    }

    private static Element ReadElement(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw new InvalidDataException("each element must be a JSON object with \"Pos\" and \"Kind\"");
        var e = new Element();
        bool hasPos = false;
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndObject) break;
            var name = Text(ref r).ToLowerInvariant();
            Read(ref r);
            switch (name)
            {
                case "pos": e.Pos = ReadPos(ref r, "Pos"); hasPos = true; break;
                case "kind": e.Kind = ReadKind(ref r); break;
                case "tags": e.Tags = ReadTags(ref r); break;
                case "prop": e.Prop = ReadProp(ref r); break;
                case "rels": e.Rels = ReadRels(ref r); break;
                default: r.Skip(); break;
            }
        }
        if (!hasPos) throw new InvalidDataException("an element has no \"Pos\"");
        return e;
    }

    /// <summary><c>[x, y, z]</c>: three integers of the 32-bit voxel grid.</summary>
    public static ElementPos ReadPos(ref Utf8JsonReader r, string what)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw new InvalidDataException($"{what} must be [x, y, z]");
        Span<int> v = stackalloc int[3];
        int n = 0;
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndArray) break;
            if (r.TokenType != JsonTokenType.Number || !r.TryGetInt32(out int c))
                throw new InvalidDataException($"{what} must be 3 integers within the 32-bit voxel grid, got {(r.TokenType == JsonTokenType.Number ? System.Text.Encoding.UTF8.GetString(r.ValueSpan) : r.TokenType.ToString())}");
            if (n == 3) throw new InvalidDataException($"{what} must be [x, y, z], not more than 3 numbers");
            v[n++] = c;
        }
        if (n != 3) throw new InvalidDataException($"{what} must be [x, y, z], got {n} numbers");
        return new ElementPos(v[0], v[1], v[2]);
    }

    private static ElementKind ReadKind(ref Utf8JsonReader r)
    {
        string raw = System.Text.Encoding.UTF8.GetString(r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan);
        if (r.TokenType != JsonTokenType.String) throw new InvalidDataException($"Unknown element type in JSON: {raw}");
        return Text(ref r) switch
        {
            "Unknown" => ElementKind.Unknown, "PostSyn" => ElementKind.PostSyn, "PreSyn" => ElementKind.PreSyn, "Gap" => ElementKind.Gap,
            "Note" => ElementKind.Note,
            var s => throw new InvalidDataException($"Unknown element type in JSON: \"{s}\""),
        };
    }

    private static RelationKind ReadRel(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.String) throw new InvalidDataException($"Unknown relationship type in JSON: {r.TokenType}");
        return Text(ref r) switch
        {
            "UnknownRelationship" => RelationKind.UnknownRelationship, "PostSynTo" => RelationKind.PostSynTo, "PreSynTo" => RelationKind.PreSynTo,
            "ConvergentTo" => RelationKind.ConvergentTo, "GroupedWith" => RelationKind.GroupedWith,
            var s => throw new InvalidDataException($"Unknown relationship type in JSON: \"{s}\""),
        };
    }

    private static List<string> ReadTags(ref Utf8JsonReader r)
    {
        var tags = new List<string>();
        if (r.TokenType == JsonTokenType.Null) return tags;
        if (r.TokenType != JsonTokenType.StartArray) throw new InvalidDataException("Tags must be an array of strings");
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndArray) return tags;
            if (r.TokenType != JsonTokenType.String) throw new InvalidDataException("Tags must be an array of strings");
            var t = Text(ref r);
            if (t.Length == 0) throw new InvalidDataException("empty tag not permitted");
            tags.Add(t);
        }
    }

    private static SortedDictionary<string, string> ReadProp(ref Utf8JsonReader r)
    {
        var prop = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (r.TokenType == JsonTokenType.Null) return prop;
        if (r.TokenType != JsonTokenType.StartObject) throw new InvalidDataException("Prop must be an object with string values");
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndObject) return prop;
            var k = Text(ref r);
            Read(ref r);
            if (r.TokenType != JsonTokenType.String) throw new InvalidDataException($"Prop \"{k}\" must be a string");
            prop[k] = Text(ref r);
        }
    }

    private static List<Relationship> ReadRels(ref Utf8JsonReader r)
    {
        var rels = new List<Relationship>();
        if (r.TokenType == JsonTokenType.Null) return rels;
        if (r.TokenType != JsonTokenType.StartArray) throw new InvalidDataException("Rels must be an array of {\"Rel\": ..., \"To\": [x, y, z]}");
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndArray) return rels;
            if (r.TokenType != JsonTokenType.StartObject) throw new InvalidDataException("Rels must be an array of {\"Rel\": ..., \"To\": [x, y, z]}");
            var rel = RelationKind.UnknownRelationship;
            ElementPos? to = null;
            while (true)
            {
                Read(ref r);
                if (r.TokenType == JsonTokenType.EndObject) break;
                var name = Text(ref r).ToLowerInvariant();
                Read(ref r);
                if (name == "rel") rel = ReadRel(ref r);
                else if (name == "to") to = ReadPos(ref r, "To");
                else r.Skip();
            }
            rels.Add(new Relationship(rel, to ?? throw new InvalidDataException("a relationship has no \"To\"")));
        }
    }
}
