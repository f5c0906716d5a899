using System.Buffers;
using Diced.Client;

namespace Diced.Cli;

/// <summary><c>diced ingest</c>: raw volumes, slice directories and multi-page TIFFs into an array.</summary>
public static partial class DicedCli
{
    /// <summary>Bytes per write request: large enough that per-request costs vanish (8 and 16 MiB ingest equally fast),
    /// small enough that the requests in flight and their encoded copies stay well inside the ingest's memory bound
    /// (a 1 GiB ingest peaked ~120 MiB over its start with 8 MiB, ~160 with 16, and up to 266 under the suite's load).</summary>
    internal const int IngestRequestBytes = 8 << 20;

    /// <summary>Requests in flight: one being received and encoded while the one before is committed.</summary>
    private const int IngestRequestsInFlight = 2;

    private static async Task IngestAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (o.Positional.Count != 1) throw new UsageException("ingest needs one input: a raw file, a directory of slices, a TIFF stack, a zarr array or file.h5:/dataset");
        var input = o.Positional[0];
        var dtype = ParseDtype(o.Get("--dtype"));
        int bpe = dtype switch { ArrayDtype.Uint8 => 1, ArrayDtype.Uint16 => 2, ArrayDtype.Uint32 => 4, _ => 8 };
        ISliceSource source = ZarrSource.Names(input) ? ZarrSource.Open(input, bpe)
            : Directory.Exists(input) ? ImageStack.FromDirectory(input, bpe)
            : HdfSource.Names(input) ? HdfSource.Open(input, bpe)
            : input.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || input.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase) ? ImageStack.FromTiff(input, bpe)
            : new RawFile(input, o.Point("--size") ?? throw new UsageException("a raw input needs --size X,Y,Z"), bpe);
        using var disposable = source as IDisposable;
        var offset = o.Point("--offset") ?? (0, 0, 0);
        var array = await OpenArrayAsync(store, o, o.Flags.Contains("--create") ? dtype : null, ct);
        if (array.Dtype != dtype) throw new DicedException($"array \"{array.Name}\" holds {array.Dtype}; the input was given as {dtype}");
        var size = source.Size;
        var parts = IngestPlan.Split(size, offset, array.BlockSize, bpe, IngestRequestBytes);
        var progress = new Progress(stderr, (long)size.X * size.Y * size.Z * bpe, "ingest");
        // Buffers are reused: the memory an ingest holds does not grow with the volume.
        var pool = ArrayPool<byte>.Create(IngestRequestBytes, IngestRequestsInFlight + 1);
        bool resume = o.Flags.Contains("--resume");
        int skipped = 0;
        await Parallel.ForEachAsync(parts, new ParallelOptions { MaxDegreeOfParallelism = IngestRequestsInFlight, CancellationToken = ct }, async (part, token) =>
        {
            int bytes = checked((int)((long)part.Size.X * part.Size.Y * part.Size.Z * bpe));
            var buffer = pool.Rent(bytes);
            try
            {
                source.Read(part.At, part.Size, buffer.AsSpan(0, bytes));
                var at = (offset.X + part.At.X, offset.Y + part.At.Y, offset.Z + part.At.Z);
                // --resume: a part the array already holds, byte for byte, is not sent again.
                if (resume && (await array.ReadRawAsync(at, part.Size, token)).AsSpan().SequenceEqual(buffer.AsSpan(0, bytes))) Interlocked.Increment(ref skipped);
                else await array.WriteRawAsync(at, part.Size, buffer.AsMemory(0, bytes), token);
            }
            finally { pool.Return(buffer); }
            progress.Add(bytes);
        });
        progress.Done(stdout, $"{size.X}x{size.Y}x{size.Z} {dtype} into {array.Name} at version {array.Version}"
            + (resume ? $" ({skipped} of {parts.Count} parts already stored)" : ""));
    }
}
