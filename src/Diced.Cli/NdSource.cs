namespace Diced.Cli;

/// <summary>An ingest input of 1 to 8 dimensions (zarr, HDF5), addressed in DVID's axis order: dimension 0 fastest.</summary>
internal interface INdSource
{
    /// <summary>The extent along each dimension, dimension 0 (x) first.</summary>
    int[] Shape { get; }

    /// <summary>Fills <paramref name="dest"/> with the box at <paramref name="at"/> of <paramref name="size"/> (one entry
    /// per dimension), packed dimension 0 fastest. Safe to call from several threads at once.</summary>
    void Read(int[] at, int[] size, Span<byte> dest);
}

/// <summary>
/// The x-y-z volume of an n-D source at one index of its outer dimensions (3 and up; none for sources of up to three
/// dimensions, whose missing y and z are one voxel thick), so the 3-D ingest plan runs over each in turn.
/// </summary>
internal sealed class NdSlices(INdSource source, int[] outer) : ISliceSource
{
    private readonly int _rank = source.Shape.Length;

    public (int X, int Y, int Z) Size => (source.Shape[0], _rank > 1 ? source.Shape[1] : 1, _rank > 2 ? source.Shape[2] : 1);

    public void Read((int X, int Y, int Z) at, (int X, int Y, int Z) size, Span<byte> dest)
        => source.Read(Full(at.X, at.Y, at.Z, outer), Full(size.X, size.Y, size.Z, outer.Select(_ => 1).ToArray()), dest);

    /// <summary>An n-D point from x, y, z and the outer coordinates, cut to the source's rank.</summary>
    public int[] Full(int x, int y, int z, int[] rest) => [.. new[] { x, y, z }.Take(Math.Min(3, _rank)), .. rest];

    /// <summary>Every index of the outer dimensions of <paramref name="shape"/>, the first outer dimension fastest.</summary>
    public static IEnumerable<int[]> OuterIndices(int[] shape)
        => shape.Length <= 3 ? [[]] : Diced.Datastore.Geometry.NdBox.Points(new int[shape.Length - 3], shape[3..].Select(n => n - 1).ToArray());
}
