using SkiaSharp;

namespace Diced.Codecs.Images;

/// <summary>Baseline grayscale JPEG (uint8 blocks and slices), through Skia.</summary>
public static class JpegCodec
{
    public const int DefaultQuality = 80;

    /// <summary>Encodes 8-bit grayscale pixels, rows top to bottom.</summary>
    public static unsafe byte[] EncodeGray(int width, int height, ReadOnlySpan<byte> pixels, int quality = DefaultQuality)
    {
        if (width <= 0 || height <= 0 || pixels.Length != (long)width * height)
            throw new ArgumentException($"JPEG of {width}x{height} needs {(long)width * height} pixels, got {pixels.Length}");
        if (width > 65535 || height > 65535)
            throw new ArgumentException($"JPEG images are limited to 65535 pixels a side; {width}x{height} is too large");
        var info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        fixed (byte* p = pixels)
        {
            using var pixmap = new SKPixmap(info, (nint)p, width);
            using var data = pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore))
                             ?? throw new InvalidDataException("JPEG encoding failed");
            return data.ToArray();
        }
    }

    /// <summary>Decodes a JPEG into 8-bit grayscale pixels of exactly <paramref name="destination"/>'s size.</summary>
    /// <exception cref="InvalidDataException">Not a JPEG, or not of the expected dimensions.</exception>
    public static unsafe void DecodeGray(ReadOnlySpan<byte> jpeg, int width, int height, Span<byte> destination)
    {
        fixed (byte* src = jpeg)
        {
            using var data = SKData.Create((nint)src, jpeg.Length);
            using var codec = SKCodec.Create(data) ?? throw new InvalidDataException("stored JPEG block does not decode");
            if (codec.Info.Width != width || codec.Info.Height != height)
                throw new InvalidDataException($"JPEG is {codec.Info.Width}x{codec.Info.Height}, expected {width}x{height}");
            var info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
            fixed (byte* dst = destination)
            {
                var result = codec.GetPixels(info, (nint)dst);
                if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                    throw new InvalidDataException($"JPEG decode failed: {result}");
            }
        }
    }
}
