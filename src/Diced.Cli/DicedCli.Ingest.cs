using System.Buffers;
using Diced.Client;

namespace Diced.Cli;

/// <summary><c>diced ingest</c>: raw volumes, slice directories, TIFF stacks, zarr arrays and HDF5 datasets into an array.</summary>
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
        INdSource? nd = ZarrSource.Names(input) ? ZarrSource.Open(input, bpe) : HdfSource.Names(input) ? HdfSource.Open(input, bpe) : null;
        ISliceSource? slices = nd is not null ? null
            : Directory.Exists(input) ? ImageStack.FromDirectory(input, bpe)
            : input.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || input.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase) ? ImageStack.FromTiff(input, bpe)
            : new RawFile(input, o.Point("--size") ?? throw new UsageException("a raw input needs --size X,Y,Z"), bpe);
        using var owned = (nd ?? (object)slices!) as IDisposable;
        var offset = o.Point("--offset") ?? (0, 0, 0);
        bool resume = o.Flags.Contains("--resume");
        int[] shape = nd?.Shape ?? [slices!.Size.X, slices.Size.Y, slices.Size.Z];
        var array = shape.Length > 3 ? await OpenNdArrayAsync(store, o, dtype, shape, ct) : await OpenArrayAsync(store, o, o.Flags.Contains("--create") ? dtype : null, ct);
        if (array.Dtype != dtype) throw new DicedException($"array \"{array.Name}\" holds {array.Dtype}; the input was given as {dtype}");
        // A 1-D or 2-D image array takes only inputs as thin along its missing axes, at 0 there.
        int[] size3 = [shape[0], shape.Length > 1 ? shape[1] : 1, shape.Length > 2 ? shape[2] : 1], at3 = [offset.X, offset.Y, offset.Z];
        if (!array.IsNd && Enumerable.Range(array.NumDims, 3 - Math.Min(3, array.NumDims)).Any(d => size3[d] != 1 || at3[d] != 0))
            throw new DicedException($"array \"{array.Name}\" has {array.NumDims} dimensions; the input is {string.Join("x", size3)} at {string.Join(",", at3)}");
        var progress = new Progress(stderr, shape.Aggregate((long)bpe, (a, b) => a * b), "ingest");
        // Buffers are reused: the memory an ingest holds does not grow with the volume.
        var pool = ArrayPool<byte>.Create(IngestRequestBytes, IngestRequestsInFlight + 1);
        int skipped = 0, parts = 0;
        // Each x-y-z volume in turn (one for inputs of up to three dimensions; one per index of the others).
        foreach (var outer in NdSlices.OuterIndices(shape))
        {
            var source = slices ?? new NdSlices(nd!, outer);
            var plan = IngestPlan.Split(source.Size, offset, array.BlockSize, bpe, IngestRequestBytes);
            parts += plan.Count;
            await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = IngestRequestsInFlight, CancellationToken = ct }, async (part, token) =>
            {
                int bytes = checked((int)((long)part.Size.X * part.Size.Y * part.Size.Z * bpe));
                var buffer = pool.Rent(bytes);
                try
                {
                    source.Read(part.At, part.Size, buffer.AsSpan(0, bytes));
                    var (at, size) = BoxIn(array, (offset.X + part.At.X, offset.Y + part.At.Y, offset.Z + part.At.Z), part.Size, outer);
                    // --resume: a part the array already holds, byte for byte, is not sent again.
                    if (resume && (await array.ReadRawAsync(at, size, token)).AsSpan().SequenceEqual(buffer.AsSpan(0, bytes))) Interlocked.Increment(ref skipped);
                    else await array.WriteRawAsync(at, size, buffer.AsMemory(0, bytes), token);
                }
                finally { pool.Return(buffer); }
                progress.Add(bytes);
            });
        }
        progress.Done(stdout, $"{string.Join("x", shape)} {dtype} into {array.Name} at version {array.Version}"
            + (resume ? $" ({skipped} of {parts} parts already stored)" : ""));
    }

    /// <summary>A part's box in the array's own axes: x, y, z (cut to an image array's rank), then an n-D array's outer index.</summary>
    private static (int[] At, int[] Size) BoxIn(DicedArray array, (int X, int Y, int Z) at, (int X, int Y, int Z) size, int[] outer)
    {
        int n = Math.Min(3, array.NumDims);
        return ([.. new[] { at.X, at.Y, at.Z }.Take(n), .. outer], [.. new[] { size.X, size.Y, size.Z }.Take(n), .. outer.Select(_ => 1)]);
    }

    /// <summary>The n-D array an input of more than three dimensions goes into; <c>--create</c> makes one of the input's shape.</summary>
    private static async Task<DicedArray> OpenNdArrayAsync(DicedStore store, Options o, ArrayDtype dtype, int[] shape, CancellationToken ct)
    {
        var name = o.Required("--array");
        var repo = await OpenRepoForArrayAsync(store, o, o.Flags.Contains("--create"), ct);
        DicedArray array;
        if (repo.ListArrays().Any(a => a.Name == name)) array = await repo.GetArrayAsync(name, ct);
        else if (o.Flags.Contains("--create")) array = await repo.CreateArrayAsync(name, dtype, shape: shape.Reverse().ToArray(), ct: ct);
        else throw new DicedException($"no array named \"{name}\" in repo \"{repo.Name}\" (add --create to make one)");
        if (array.NumDims != shape.Length)
            throw new DicedException($"the input has {shape.Length} dimensions; array \"{name}\" has {array.NumDims}");
        return array;
    }
}
