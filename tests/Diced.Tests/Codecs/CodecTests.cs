using Diced.Codecs;
using Diced.Datastore.Versioning;

namespace Diced.Tests.Codecs;

public class CodecTests
{
    [Theory] // Appendix A.8: the stored value header byte
    [InlineData("lz4", false, 0x80)]
    [InlineData("gzip", false, 0x40)]
    [InlineData("none", false, 0x00)]
    [InlineData("lz4", true, 0x88)]
    public void Envelope_header_bytes_match_dvid(string codec, bool crc, byte header)
    {
        var stored = ValueEnvelope.Encode("some bytes to store"u8, CompressionSpec.Parse(codec), crc);
        Assert.Equal(header, stored[0]);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("lz4")]
    [InlineData("gzip")]
    [InlineData("gzip:1")]
    [InlineData("zstd")]
    [InlineData("zstd:19")]
    public void Envelope_round_trips_random_and_repetitive_data(string codec)
    {
        var rng = new Random(7);
        foreach (var size in new[] { 1, 100, 65_536, 1_000_003 })
        {
            var data = new byte[size];
            rng.NextBytes(data.AsSpan(0, size / 2)); // half random, half zeros
            foreach (var crc in new[] { false, true })
                Assert.Equal(data, ValueEnvelope.Decode(ValueEnvelope.Encode(data, CompressionSpec.Parse(codec), crc)));
        }
    }

    [Fact]
    public void Lz4_envelope_has_dvid_length_prefix()
    {
        var stored = ValueEnvelope.Encode(new byte[1000], CompressionSpec.Lz4);
        Assert.Equal(1000u, BitConverter.ToUInt32(stored, 1));
        var raw = new byte[1000];
        Lz4Block.Decode(stored.AsSpan(5), raw);
    }

    [Fact]
    public void Corrupt_values_fail_cleanly()
    {
        var stored = ValueEnvelope.Encode(new byte[1000], CompressionSpec.Lz4, checksum: true);
        stored[^1] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => ValueEnvelope.Decode(stored));
        Assert.Throws<InvalidDataException>(() => GzipCodec.Decompress([1, 2, 3, 4, 5]));
        Assert.Throws<InvalidDataException>(() => ZstdCodec.Decompress([1, 2, 3, 4, 5]));
        Assert.Throws<InvalidDataException>(() => Lz4Block.Decode([0xF0, 1, 2], new byte[100]));
    }

    [Theory]
    [InlineData("snappy")]
    [InlineData("gzip:0")]
    [InlineData("gzip:10")]
    [InlineData("lz4:3")]
    [InlineData("bzip2")]
    [InlineData("gzip:x")]
    public void Bad_compression_settings_are_rejected(string text)
        => Assert.Throws<FormatException>(() => CompressionSpec.Parse(text));

    [Fact]
    public void Escaped_string_keys_sort_like_the_strings_and_are_prefix_free()
    {
        string[] keys = ["", "\0", "\0\0", "a", "a\0", "a\0b", "a\u0001", "ab", "b", "\u00ff", "é"];
        var encoded = keys.Select(k => DataKeys.EscapeString(System.Text.Encoding.UTF8.GetBytes(k), 177)).ToList();
        for (int i = 0; i < keys.Length; i++)
        {
            Assert.Equal(keys[i], System.Text.Encoding.UTF8.GetString(DataKeys.UnescapeString(encoded[i])));
            for (int j = 0; j < keys.Length; j++)
            {
                var a = System.Text.Encoding.UTF8.GetBytes(keys[i]);
                var b = System.Text.Encoding.UTF8.GetBytes(keys[j]);
                Assert.Equal(Math.Sign(a.AsSpan().SequenceCompareTo(b)), Math.Sign(encoded[i].AsSpan().SequenceCompareTo(encoded[j])));
                if (i != j) Assert.False(encoded[j].AsSpan().StartsWith(encoded[i]), $"{i} is a prefix of {j}");
            }
        }
    }
}
