using System.IO.Pipelines;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Diced.Codecs;
using Diced.Codecs.BlockStreams;
using Diced.Codecs.Labels;
using Diced.Codecs.SparseVolumes;

namespace Diced.Bench.Micro;

/// <summary>Synthetic inputs shared by the codec micro-benchmarks: a 64³ EM-like uint8 block and a 64³ segmentation block.</summary>
internal static class Inputs
{
    public const int Side = 64;

    public static byte[] Grey()
    {
        var rng = new Random(1);
        var v = new byte[Side * Side * Side];
        for (int i = 0; i < v.Length; i++) v[i] = (byte)(128 + 60 * Math.Sin(i % Side / 7.0) * Math.Cos(i / (Side * Side) / 5.0) + rng.Next(-12, 12));
        return v;
    }

    public static ulong[] Segmentation()
    {
        var labels = new ulong[Side * Side * Side];
        for (int z = 0; z < Side; z++)
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    labels[(z * Side + y) * Side + x] = (ulong)(1000 + (x + (int)(6 * Math.Sin(y / 5.0))) / 9 + 7 * ((y + z / 3) / 11));
        return labels;
    }
}

/// <summary>Raw LZ4 blocks (stored volume blocks, <c>compression=lz4</c>), against copying the same bytes.</summary>
[MemoryDiagnoser]
public class Lz4BlockBenchmarks
{
    private readonly byte[] _raw = Inputs.Grey();
    private readonly byte[] _out = new byte[Inputs.Side * Inputs.Side * Inputs.Side];
    private byte[] _encoded = [];

    [GlobalSetup] public void Setup() => _encoded = Lz4Block.Encode(_raw);

    [Benchmark(Baseline = true)] public void Copy() => _raw.AsSpan().CopyTo(_out);
    [Benchmark] public byte[] Encode() => Lz4Block.Encode(_raw);
    [Benchmark] public void Decode() => Lz4Block.Decode(_encoded, _out);
}

/// <summary>DVID label blocks (labelmap/labelarray storage and block streams), against copying the same voxels.</summary>
[MemoryDiagnoser]
public class LabelBlockBenchmarks
{
    private readonly ulong[] _labels = Inputs.Segmentation();
    private readonly ulong[] _out = new ulong[Inputs.Side * Inputs.Side * Inputs.Side];
    private byte[] _encoded = [];

    [GlobalSetup] public void Setup() => _encoded = LabelBlock.Encode(_labels, (Inputs.Side, Inputs.Side, Inputs.Side));

    [Benchmark(Baseline = true)] public void Copy() => _labels.AsSpan().CopyTo(_out);
    [Benchmark] public byte[] Encode() => LabelBlock.Encode(_labels, (Inputs.Side, Inputs.Side, Inputs.Side));
    [Benchmark] public void Decode() => LabelBlock.Decode(_encoded, _out);
}

/// <summary>Neuroglancer's compressed segmentation (<c>compression=google</c>), against copying the same voxels.</summary>
[MemoryDiagnoser]
public class CompressedSegmentationBenchmarks
{
    private readonly ulong[] _labels = Inputs.Segmentation();
    private readonly ulong[] _out = new ulong[Inputs.Side * Inputs.Side * Inputs.Side];

    [Benchmark(Baseline = true)] public void Copy() => _labels.AsSpan().CopyTo(_out);
    [Benchmark] public byte[] Encode() => CompressedSegmentation.Encode(_labels, (Inputs.Side, Inputs.Side, Inputs.Side));
}

/// <summary>DVID's stored-value envelope in each codec, against copying the same bytes.</summary>
[MemoryDiagnoser]
public class ValueEnvelopeBenchmarks
{
    private readonly byte[] _raw = Inputs.Grey();
    private readonly byte[] _out = new byte[Inputs.Side * Inputs.Side * Inputs.Side];

    [Params("lz4", "zstd", "gzip")] public string Codec { get; set; } = "lz4";

    private CompressionSpec _spec = CompressionSpec.Lz4;
    private byte[] _stored = [];

    [GlobalSetup]
    public void Setup()
    {
        _spec = CompressionSpec.Parse(Codec);
        _stored = ValueEnvelope.Encode(_raw, _spec);
    }

    [Benchmark(Baseline = true)] public void Copy() => _raw.AsSpan().CopyTo(_out);
    [Benchmark] public byte[] Encode() => ValueEnvelope.Encode(_raw, _spec);
    [Benchmark] public void Decode() => ValueEnvelopeInto.Decode(_stored, _out);
}

/// <summary>Block streams: reading 64 records of 64 KiB from a pipe as they arrive, against copying the same bytes.</summary>
[MemoryDiagnoser]
public class BlockStreamBenchmarks
{
    private byte[] _stream = [];
    private readonly byte[] _out = new byte[64 * (65536 + BlockStream.HeaderBytes)];

    [GlobalSetup]
    public void Setup()
    {
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        var payload = new byte[65536];
        for (int i = 0; i < 64; i++) BlockStream.WriteFrame(w, (i, 0, 0), payload);
        _stream = w.WrittenSpan.ToArray();
    }

    [Benchmark(Baseline = true)] public void Copy() => _stream.AsSpan().CopyTo(_out);

    [Benchmark]
    public async Task<int> Read()
    {
        var reader = PipeReader.Create(new MemoryStream(_stream));
        long sum = 0;
        return await BlockStream.ReadAsync(reader, 1 << 20, (_, payload) => sum += payload.Length);
    }
}

/// <summary>Sparse-volume RLE both ways (sparsevol answers, split bodies), against copying the same bytes.</summary>
[MemoryDiagnoser]
public class SparseVolumeBenchmarks
{
    private readonly List<Run> _runs = Enumerable.Range(0, 50_000).Select(i => new Run(i % 512, i / 512 % 512, i / 262_144, 1 + i % 37)).ToList();
    private byte[] _encoded = [];
    private byte[] _out = [];

    [GlobalSetup]
    public void Setup()
    {
        _encoded = SparseVolume.EncodeRuns(_runs);
        _out = new byte[_encoded.Length];
    }

    [Benchmark(Baseline = true)] public void Copy() => _encoded.AsSpan().CopyTo(_out);
    [Benchmark] public byte[] Encode() => SparseVolume.EncodeRuns(_runs);
    [Benchmark] public int Parse() => SparseVolume.ParseRuns(_encoded).Count;
}

/// <summary>Image slices: PNG and JPEG of a 512² uint8 slice (<c>raw/xy/…/png|jpg</c>, JPEG-stored blocks), against a copy.</summary>
[MemoryDiagnoser]
public class ImageBenchmarks
{
    private const int Side = 512;
    private readonly byte[] _slice = Enumerable.Range(0, 8).SelectMany(_ => Inputs.Grey()).Take(Side * Side).ToArray();
    private readonly byte[] _out = new byte[Side * Side];
    private byte[] _jpeg = [];

    [GlobalSetup] public void Setup() => _jpeg = Diced.Codecs.Images.JpegCodec.EncodeGray(Side, Side, _slice);

    [Benchmark(Baseline = true)] public void Copy() => _slice.AsSpan().CopyTo(_out);
    [Benchmark] public byte[] Png() => Diced.Codecs.Images.PngEncoder.Encode(Side, Side, Diced.Codecs.Images.PngPixels.Gray8, _slice);
    [Benchmark] public byte[] JpegEncode() => Diced.Codecs.Images.JpegCodec.EncodeGray(Side, Side, _slice);
    [Benchmark] public void JpegDecode() => Diced.Codecs.Images.JpegCodec.DecodeGray(_jpeg, Side, Side, _out);
}
