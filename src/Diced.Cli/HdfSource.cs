using System.Runtime.InteropServices;
using Diced.Client;
using PureHDF;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace Diced.Cli;

/// <summary>
/// A dataset of 1 to 8 dimensions of unsigned (or signed, same width) integers in an HDF5 file, named
/// <c>file.h5:/path/to/dataset</c>, read with PureHDF: pure .NET, so nothing native to install, and it reads what h5py
/// writes (contiguous or chunked, deflate and shuffle filters). HDF5 lists dimensions slowest first, so a (t, z, y, x)
/// dataset becomes x first, packed x fastest.
/// </summary>
internal sealed class HdfSource : INdSource, IDisposable
{
    private readonly NativeFile _file;
    private readonly IH5Dataset _dataset;
    private readonly int _bpe;
    private readonly object _reading = new();

    private HdfSource(NativeFile file, IH5Dataset dataset, int[] shape, int bpe)
        => (_file, _dataset, Shape, _bpe) = (file, dataset, shape, bpe);

    public int[] Shape { get; }

    /// <summary>Whether <paramref name="input"/> names a dataset in an HDF5 file (<c>….h5:/path</c>).</summary>
    public static bool Names(string input) => Split(input) is not null;

    private static (string File, string Dataset)? Split(string input)
    {
        foreach (var ext in new[] { ".h5:", ".hdf5:", ".hdf:", ".he5:" })
        {
            int at = input.IndexOf(ext, StringComparison.OrdinalIgnoreCase);
            if (at > 0) return (input[..(at + ext.Length - 1)], input[(at + ext.Length)..]);
        }
        return null;
    }

    public static HdfSource Open(string input, int bpe)
    {
        var (path, name) = Split(input) ?? throw new DicedCli.UsageException($"{input} is not file.h5:/path/to/dataset");
        if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
        NativeFile file;
        try { file = H5File.OpenRead(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DicedException($"{path} is not a readable HDF5 file: {e.Message}");
        }
        try
        {
            if (name.Length == 0 || !file.LinkExists(name)) throw new DicedException($"{path} has no dataset {(name.Length == 0 ? "named (give file.h5:/path/to/dataset)" : name)}");
            if (file.Get(name) is not IH5Dataset dataset) throw new DicedException($"{path}:{name} is a group, not a dataset");
            var type = dataset.Type;
            if (type.Class != H5DataTypeClass.FixedPoint)
                throw new DicedException($"{path}:{name} holds {type.Class} values; Diced arrays hold unsigned integers");
            if (type.Size != bpe)
                throw new DicedException($"{path}:{name} holds {type.Size * 8}-bit integers; the ingest was given --dtype of {bpe * 8} bits");
            var dims = dataset.Space.Dimensions;
            if (dims.Length is < 1 or > 8)
                throw new DicedException($"{path}:{name} has {dims.Length} dimensions; ingest takes 1 to 8");
            if (dims.Any(d => d == 0 || d > int.MaxValue)) throw new DicedException($"{path}:{name} has an empty or oversized dimension ({string.Join("x", dims)})");
            return new HdfSource(file, dataset, dims.Reverse().Select(d => (int)d).ToArray(), bpe);
        }
        catch (Exception e)
        {
            file.Dispose();
            if (e is DicedException or OutOfMemoryException) throw;
            throw new DicedException($"{path} is not a readable HDF5 file: {e.Message}");
        }
    }

    public void Read(int[] at, int[] size, Span<byte> dest)
    {
        var selection = new HyperslabSelection(Shape.Length, at.Reverse().Select(v => (ulong)v).ToArray(), size.Reverse().Select(v => (ulong)v).ToArray());
        int count = size.Aggregate(1, (a, b) => checked(a * b));
        // One reader at a time: the file's stream is shared. Decompression of chunks happens inside the read.
        lock (_reading)
        {
            switch (_bpe)
            {
                case 1: ReadInto<byte>(selection, count, dest); break;
                case 2: ReadInto<ushort>(selection, count, dest); break;
                case 4: ReadInto<uint>(selection, count, dest); break;
                default: ReadInto<ulong>(selection, count, dest); break;
            }
        }
    }

    private void ReadInto<T>(HyperslabSelection selection, int count, Span<byte> dest) where T : unmanaged
    {
        var buffer = new T[count];
        try { _dataset.Read(buffer, selection); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DicedException($"cannot read the HDF5 dataset {_dataset.Name}: {e.Message}");
        }
        MemoryMarshal.AsBytes(buffer.AsSpan()).CopyTo(dest);
    }

    public void Dispose() => _file.Dispose();
}
