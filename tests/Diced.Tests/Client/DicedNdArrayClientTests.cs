using Diced.Client;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>n-D arrays from C#: ranges and indices per axis, rank checks, shapes and open ends.</summary>
public class DicedNdArrayClientTests : IAsyncLifetime
{
    private readonly string _dir = TempDir.Create("diced-nd");
    private DicedStore _store = null!;

    public async Task InitializeAsync() => _store = await DicedStore.OpenAsync(_dir, new DicedStoreOptions { Port = 0 });

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        TempDir.Delete(_dir);
    }

    [Fact]
    public async Task A_4d_time_series_is_written_and_read_with_ranges_and_indices_per_axis()
    {
        var repo = await _store.CreateRepoAsync("movies");
        var arr = await repo.CreateArrayAsync("movie", ArrayDtype.Uint16, shape: [6, 10, 12, 14], chunks: [2, 4, 5, 8]);
        Assert.True(arr.IsNd);
        Assert.Equal(4, arr.NumDims);
        Assert.Equal([6, 10, 12, 14], arr.Shape!);
        Assert.Equal([2, 4, 5, 8], arr.ChunkShape);
        Assert.Equal(["t", "z", "y", "x"], arr.AxisNames);
        var all = new ushort[6, 10, 12, 14];
        for (int t = 0; t < 6; t++)
            for (int z = 0; z < 10; z++)
                for (int y = 0; y < 12; y++)
                    for (int x = 0; x < 14; x++)
                        all[t, z, y, x] = (ushort)(t * 10000 + z * 1000 + y * 50 + x);
        arr[.., .., .., ..] = all;
        Assert.Equal(all, (ushort[,,,])arr[.., .., .., ..]);
        // An index drops its axis: one time point is a 3-D array, a time course a 1-D one.
        var frame = (ushort[,,])arr[3, .., 2..7, ^4..];
        Assert.Equal([10, 5, 4], new[] { frame.GetLength(0), frame.GetLength(1), frame.GetLength(2) });
        Assert.Equal(all[3, 9, 6, 13], frame[9, 4, 3]);
        var course = (ushort[])arr[.., 4, 5, 6];
        Assert.Equal(Enumerable.Range(0, 6).Select(t => all[t, 4, 5, 6]), course);
        Assert.Equal([all[5, 9, 11, 13]], (ushort[])arr[^1, ^1, ^1, ^1]);
        Assert.Equal(all[2, 3, 4, 5], (ushort)arr[2, 3, 4, 5]);
        // Writes through a mix of indices and ranges change exactly those elements.
        arr[1, 0..2, 3, 4..6] = new ushort[2, 2] { { 1, 2 }, { 3, 4 } };
        all[1, 0, 3, 4] = 1; all[1, 0, 3, 5] = 2; all[1, 1, 3, 4] = 3; all[1, 1, 3, 5] = 4;
        Assert.Equal(all, (ushort[,,,])arr[.., .., .., ..]);
        // The same array from a fresh repo object.
        var again = await (await _store.OpenRepoAsync("movies")).GetArrayAsync("movie");
        Assert.Equal(ArrayDtype.Uint16, again.Dtype);
        Assert.Contains(("movie", ArrayDtype.Uint16), repo.ListArrays());
    }

    [Fact]
    public async Task Wrong_rank_shape_or_type_is_a_clear_error_and_writes_nothing()
    {
        var repo = await _store.CreateRepoAsync("checks");
        var arr = await repo.CreateArrayAsync("a", ArrayDtype.Uint8, shape: [2, 3, 4, 5, 6]);
        Assert.Equal(5, arr.NumDims);
        Assert.Contains("5 dimensions", Assert.Throws<DicedException>(() => arr[0, .., ..]).Message);
        Assert.Contains("does not fit axis 1", Assert.Throws<DicedException>(() => arr[0, 0..4, .., .., ..]).Message);
        Assert.Contains("holds Uint8", Assert.Throws<DicedException>(() => arr[0, 0, .., .., ..] = new ushort[4, 5, 6]).Message);
        Assert.Contains("has 3 dimensions; the data has 2", Assert.Throws<DicedException>(() => arr[0, 0, .., .., ..] = new byte[4, 5]).Message);
        Assert.Contains("the region is", Assert.Throws<DicedException>(() => arr[0, 0, 0..2, .., ..] = new byte[3, 5, 6]).Message);
        await Assert.ThrowsAsync<DicedException>(() => repo.CreateArrayAsync("nine", ArrayDtype.Uint8, shape: new int[9].Select(_ => 2).ToArray()));
        await Assert.ThrowsAsync<DicedException>(() => repo.CreateArrayAsync("zero", ArrayDtype.Uint8, shape: [4, 0]));
        await Assert.ThrowsAsync<DicedException>(() => repo.CreateArrayAsync("mismatch", ArrayDtype.Uint8, shape: [4, 4], chunks: [2]));
        Assert.Null(await arr.ExtentsAsync());
    }

    [Fact]
    public async Task Unbounded_arrays_of_any_rank_take_open_ends_from_the_written_extent()
    {
        var repo = await _store.CreateRepoAsync("grow");
        var arr = await repo.CreateArrayAsync("spectra", ArrayDtype.Float32, dims: 6);
        Assert.Null(arr.Shape);
        var block = new float[1, 1, 2, 1, 3, 2];
        block[0, 0, 1, 0, 2, 1] = 2.5f;
        arr[3..4, 0..1, 1..3, 0..1, 10..13, 62..64] = block;
        var (start, stop) = (await arr.ExtentsAsync())!.Value;
        Assert.Equal([3, 0, 1, 0, 0, 0], start);
        Assert.Equal([4, 1, 3, 64, 64, 64], stop); // z, y and x chunks of 64
        var read = (float[,,,,,])arr[3.., .., 1.., .., 10.., 62..];
        Assert.Equal([1, 1, 2, 64, 54, 2], Enumerable.Range(0, 6).Select(read.GetLength));
        Assert.Equal(2.5f, read[0, 0, 1, 0, 2, 1]);
    }
}
