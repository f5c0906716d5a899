using System.Buffers;
using System.Text;
using Diced.Codecs.Annotations;

namespace Diced.Tests.Codecs;

/// <summary>Annotation formats: DVID's element JSON as Go writes it, and Diced's stored block and index records.</summary>
public class AnnotationCodecTests
{
    private static string Json(Action<ArrayBufferWriter<byte>> write)
    {
        var w = new ArrayBufferWriter<byte>();
        write(w);
        return Encoding.UTF8.GetString(w.WrittenSpan);
    }

    private static Element Sample() => new()
    {
        Pos = new ElementPos(33, 30, -5),
        Kind = ElementKind.PreSyn,
        Tags = ["Synapse1", "Zlt90"],
        Prop = new(StringComparer.Ordinal) { ["Im a T-Bar"] = "yes", ["I'm not a PSD"] = "sure", ["i'm really special"] = "" },
        Rels = [new Relationship(RelationKind.PreSynTo, new ElementPos(15, 27, 35)), new Relationship(RelationKind.PreSynTo, new ElementPos(20, 30, 40))],
    };

    [Fact]
    public void An_element_is_written_as_Go_writes_DVIDs_struct()
    {
        // Field order of DVID's ElementNR/Element structs; map keys sorted bytewise as Go sorts them; no spaces.
        Assert.Equal(
            "{\"Pos\":[33,30,-5],\"Kind\":\"PreSyn\",\"Tags\":[\"Synapse1\",\"Zlt90\"],\"Prop\":{\"I'm not a PSD\":\"sure\",\"Im a T-Bar\":\"yes\",\"i'm really special\":\"\"},"
            + "\"Rels\":[{\"Rel\":\"PreSynTo\",\"To\":[15,27,35]},{\"Rel\":\"PreSynTo\",\"To\":[20,30,40]}]}",
            Json(w => ElementJson.Write(w, Sample())));
        Assert.Equal(
            "[{\"Pos\":[1,2,3],\"Kind\":\"Note\",\"Tags\":[],\"Prop\":{}}]",
            Json(w => ElementJson.WriteArray(w, [new Element { Pos = new ElementPos(1, 2, 3), Kind = ElementKind.Note }], rels: false)));
    }

    [Theory]
    [InlineData("a<b>&c", "\"a\\u003cb\\u003e\\u0026c\"")]
    [InlineData("line\nnext\ttab\rret", "\"line\\nnext\\ttab\\rret\"")]
    [InlineData("quote\" back\\", "\"quote\\\" back\\\\\"")]
    [InlineData("\u0001\u001f", "\"\\u0001\\u001f\"")]
    [InlineData("sep\u2028para\u2029", "\"sep\\u2028para\\u2029\"")]
    [InlineData("µm ünïcödé 🧠", "\"µm ünïcödé 🧠\"")]
    [InlineData("\u007f", "\"\u007f\"")]
    public void Strings_are_escaped_as_Gos_encoding_json(string value, string expected)
        => Assert.Equal(expected, Json(w => GoJson.String(w, value)));

    [Fact]
    public void Parsing_accepts_any_case_of_field_names_and_missing_parts()
    {
        var parsed = ElementJson.ParseArray("[{\"pos\":[1,2,3],\"kind\":\"PostSyn\",\"extra\":{\"x\":[1]}},{\"POS\":[4,5,6],\"KIND\":\"Gap\",\"rels\":null,\"tags\":null,\"prop\":null}]"u8);
        Assert.Equal(2, parsed.Count);
        Assert.Equal((new ElementPos(1, 2, 3), ElementKind.PostSyn), (parsed[0].Pos, parsed[0].Kind));
        Assert.Equal((new ElementPos(4, 5, 6), ElementKind.Gap), (parsed[1].Pos, parsed[1].Kind));
        Assert.All(parsed, e => Assert.True(e.Tags.Count == 0 && e.Prop.Count == 0 && e.Rels.Count == 0));
        Assert.Empty(ElementJson.ParseArray("null"u8));
    }

    [Fact]
    public void Unpaired_surrogate_escapes_read_as_U_FFFD_as_Gos_decoder_reads_them()
    {
        var e = ElementJson.ParseArray("[{\"Pos\":[1,2,3],\"Tags\":[\"a\\ud800b\\n\\u00e9\\ud83e\\udde0\"],\"Prop\":{\"\\udc00k\":\"\\\"v\"}}]"u8).Single();
        Assert.Equal("a\uFFFDb\né🧠", e.Tags.Single());
        Assert.Equal(("\uFFFDk", "\"v"), (e.Prop.Keys.Single(), e.Prop.Values.Single()));
    }

    [Fact]
    public void What_is_written_parses_back_to_the_same_element()
    {
        var json = Json(w => ElementJson.WriteArray(w, [Sample()]));
        var back = ElementJson.ParseArray(Encoding.UTF8.GetBytes(json)).Single();
        Assert.Equal(json, Json(w => ElementJson.WriteArray(w, [back])));
    }

    [Theory]
    [InlineData("[{\"Pos\":[1,2],\"Kind\":\"PreSyn\"}]", "got 2 numbers")]
    [InlineData("[{\"Pos\":[1,2,3,4],\"Kind\":\"PreSyn\"}]", "not more than 3")]
    [InlineData("[{\"Pos\":[1,2,4294967296],\"Kind\":\"PreSyn\"}]", "32-bit voxel grid")]
    [InlineData("[{\"Pos\":[1,2,1.5],\"Kind\":\"PreSyn\"}]", "32-bit voxel grid")]
    [InlineData("[{\"Kind\":\"PreSyn\"}]", "no \"Pos\"")]
    [InlineData("[{\"Pos\":[1,2,3],\"Kind\":\"Synapse\"}]", "Synapse")]
    [InlineData("[{\"Pos\":[1,2,3],\"Rels\":[{\"Rel\":\"LikesTo\",\"To\":[1,1,1]}]}]", "LikesTo")]
    [InlineData("[{\"Pos\":[1,2,3]}", "")]
    [InlineData("{\"Pos\":[1,2,3]}", "array")]
    [InlineData("[1]", "object")]
    [InlineData("[{\"Pos\":[1,2,3]}] trailing", "")]
    public void Malformed_elements_are_refused_with_a_clear_message(string json, string mentions)
    {
        var e = Assert.Throws<InvalidDataException>(() => ElementJson.ParseArray(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(mentions, e.Message);
    }

    [Fact]
    public void Blocks_parse_in_the_order_sent_with_their_keys()
    {
        var blocks = ElementJson.ParseBlocks("{\"0,0,0\":[{\"Pos\":[1,2,3],\"Kind\":\"Note\"}],\"1,0,-1\":[],\"2,2,2\":null}"u8);
        Assert.Equal(["0,0,0", "1,0,-1", "2,2,2"], blocks.Select(b => b.Key));
        Assert.Equal([1, 0, 0], blocks.Select(b => b.Elements.Count));
        Assert.Throws<InvalidDataException>(() => ElementJson.ParseBlocks("[]"u8));
    }

    [Fact]
    public void Block_records_round_trip_every_field()
    {
        var list = new List<StoredElement> { new(Sample(), 123456789012345), new(new Element { Pos = new ElementPos(int.MinValue, int.MaxValue, 0), Kind = ElementKind.Note, Tags = ["ünï"] }, 0) };
        var back = ElementRecords.DecodeBlock(ElementRecords.EncodeBlock(list));
        Assert.Equal(list.Select(s => s.Supervoxel), back.Select(s => s.Supervoxel));
        Assert.Equal(Json(w => ElementJson.WriteArray(w, list.Select(s => s.Element))), Json(w => ElementJson.WriteArray(w, back.Select(s => s.Element))));
    }

    [Fact]
    public void Index_records_round_trip()
    {
        var entries = new List<IndexEntry> { new(new ElementPos(1, 2, 3), ElementKind.PostSyn, ulong.MaxValue), new(new ElementPos(-1, 0, 7), ElementKind.Unknown, 0) };
        Assert.Equal(entries, ElementRecords.DecodeIndex(ElementRecords.EncodeIndex(entries)));
        Assert.Empty(ElementRecords.DecodeIndex(ElementRecords.EncodeIndex([])));
    }

    [Fact]
    public void Every_truncation_or_corruption_of_a_record_is_an_InvalidDataException()
    {
        var block = ElementRecords.EncodeBlock([new(Sample(), 9), new(Sample(), 10)]);
        for (int n = 0; n < block.Length; n++)
            Assert.Throws<InvalidDataException>(() => ElementRecords.DecodeBlock(block[..n]));
        var index = ElementRecords.EncodeIndex([new(new ElementPos(1, 2, 3), ElementKind.PreSyn, 5)]);
        for (int n = 0; n < index.Length; n++)
            Assert.Throws<InvalidDataException>(() => ElementRecords.DecodeIndex(index[..n]));
        var rng = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            var bad = (byte[])block.Clone();
            bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
            try { ElementRecords.DecodeBlock(bad); }
            catch (InvalidDataException) { }
        }
    }
}
