using Diced.Client;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>DICED's scenarios, written the way a user writes them.</summary>
public class DicedClientTests : IAsyncLifetime
{
    private readonly string _dir = TempDir.Create("diced-client");
    private DicedStore _store = null!;

    public async Task InitializeAsync() => _store = await DicedStore.OpenAsync(_dir, new DicedStoreOptions { Port = 0 });

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        TempDir.Delete(_dir);
    }

    [Fact]
    public async Task Local_store_create_repo_and_array_write_and_read_back()
    {
        var repo = await _store.CreateRepoAsync("myrepo", "my first repo");
        var arr = await repo.CreateArrayAsync("myarray", ArrayDtype.Uint8);
        var data = new byte[1, 1, 5] { { { 1, 2, 3, 4, 5 } } };
        arr[0..1, 0..1, 0..5] = data;
        Assert.Equal(3UL, arr[0, 0, 2]);
        var back = (byte[,,])arr[0..1, 0..1, 0..5];
        Assert.Equal(data, back);
        // Outside what was written: zeros.
        Assert.Equal(new byte[2, 2, 2], await arr.ReadAsync<byte>(100..102, 100..102, 100..102));
        // Open ends run to the written extent (block-aligned).
        var all = await arr.ReadAsync<byte>(.., .., ..);
        Assert.Equal([64, 64, 64], new[] { all.GetLength(0), all.GetLength(1), all.GetLength(2) });
        Assert.Equal(5, all[0, 0, 4]);
        Assert.Contains(("myarray", ArrayDtype.Uint8), repo.ListArrays());
        Assert.Contains(await _store.ListReposAsync(), r => r.Name == "myrepo" && r.Description == "my first repo");
        // The web viewer is served by the in-process server.
        using var http = new HttpClient();
        Assert.Contains("<html", await http.GetStringAsync(_store.Address), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Lock_branch_write_in_the_branch_and_the_old_version_is_unchanged()
    {
        var repo = await _store.CreateRepoAsync("versions");
        var arr = await repo.CreateArrayAsync("grey", ArrayDtype.Uint16);
        var original = new ushort[4, 4, 4];
        for (int i = 0; i < 64; i++) original[i / 16, i / 4 % 4, i % 4] = (ushort)(1000 + i);
        arr[0..4, 0..4, 0..4] = original;
        var v1 = repo.Uuid;
        await Assert.ThrowsAsync<DicedException>(() => repo.CreateBranchAsync("too early"));
        await repo.LockAsync("first version");
        var ex = Assert.Throws<DicedException>(() => arr[0, 0, 0] = 7);
        Assert.Contains("locked", ex.Message);
        var v2 = await repo.CreateBranchAsync("edits");
        await repo.ChangeVersionAsync(v2);
        var arr2 = await repo.GetArrayAsync("grey");
        arr2[0, 0, 0] = 7;
        Assert.Equal(7UL, arr2[0, 0, 0]);
        await repo.ChangeVersionAsync(v1);
        var old = await repo.GetArrayAsync("grey");
        Assert.Equal(original, await old.ReadAsync<ushort>(0..4, 0..4, 0..4));
        Assert.Equal([v1, v2], (await ReopenedLog(v2)).Select(v => v.Uuid).ToArray());
        Assert.Equal("first version", repo.CommitLog()[0].Note);
    }

    private async Task<IReadOnlyList<VersionInfo>> ReopenedLog(string uuid) => (await _store.OpenRepoAsync(uuid: uuid)).CommitLog();

    [Fact]
    public async Task Arrays_of_every_kind_files_and_deletion()
    {
        var repo = await _store.CreateRepoAsync("kinds");
        var line = await repo.CreateArrayAsync("line", ArrayDtype.Uint32, dims: 1);
        line[10..14] = new uint[] { 1, 2, 3, uint.MaxValue };
        Assert.Equal(new uint[] { 0, 1, 2, 3, uint.MaxValue, 0 }, await line.ReadAsync<uint>(9..15));
        var plane = await repo.CreateArrayAsync("plane", ArrayDtype.Uint8, dims: 2);
        plane[5..7, 3..6] = new byte[,] { { 1, 2, 3 }, { 4, 5, 6 } };
        Assert.Equal(6UL, plane[6, 5]);
        var labels = await repo.CreateArrayAsync("labels", ArrayDtype.Uint64, isLabel: true);
        labels[0..2, 0..2, 0..2] = new ulong[2, 2, 2] { { { 1UL << 40, 2 }, { 3, 4 } }, { { 5, 6 }, { 7, 8 } } };
        Assert.Equal(1UL << 40, labels[0, 0, 0]);
        var lossy = await repo.CreateArrayAsync("em", ArrayDtype.Uint8, lossy: true);
        Assert.True(lossy.IsLossy);
        await Assert.ThrowsAsync<DicedException>(() => repo.CreateArrayAsync("labels", ArrayDtype.Uint8));
        await Assert.ThrowsAsync<DicedException>(() => repo.CreateArrayAsync("bad", ArrayDtype.Uint8, dims: 9));
        // Wrong element type or shape: clear errors, nothing written.
        Assert.Throws<DicedException>(() => plane[0..2, 0..2] = new ushort[2, 2]);
        Assert.Throws<DicedException>(() => plane[0..2, 0..3] = new byte[2, 2]);
        await Assert.ThrowsAsync<DicedException>(() => repo.GetArrayAsync("nosuch"));

        await repo.UploadFileAsync("notes.txt", "hello");
        Assert.Equal("hello"u8.ToArray(), await repo.DownloadFileAsync("notes.txt"));
        Assert.Equal(["notes.txt"], await repo.ListFilesAsync());
        await repo.DeleteFileAsync("notes.txt");
        await Assert.ThrowsAsync<DicedException>(() => repo.DownloadFileAsync("notes.txt"));

        await repo.DeleteArrayAsync("line");
        Assert.DoesNotContain(repo.ListArrays(), a => a.Name == "line");
        await _store.DeleteRepoAsync("kinds");
        Assert.DoesNotContain(await _store.ListReposAsync(), r => r.Name == "kinds");
        await Assert.ThrowsAsync<DicedException>(() => _store.OpenRepoAsync("kinds"));
    }

    [Fact]
    public async Task Large_reads_and_writes_are_split_and_an_existing_server_is_reachable_by_dvid_url()
    {
        await using var remote = await DicedStore.OpenAsync($"dvid://{_store.Address.Host}:{_store.Address.Port}");
        var repo = await remote.CreateRepoAsync("big");
        var arr = await repo.CreateArrayAsync("vol", ArrayDtype.Uint8);
        // 80 MiB: more than one request's worth, written and read in several block-aligned slabs.
        var data = new byte[320, 512, 512];
        new Random(3).NextBytes(Flat(data));
        await arr.WriteAsync(0..320, 0..512, 0..512, data);
        var back = await arr.ReadAsync<byte>(0..320, 0..512, 0..512);
        Assert.True(Flat(data).SequenceEqual(Flat(back)));
        var ex = await Assert.ThrowsAsync<DicedException>(() => DicedStore.OpenAsync("dvid://127.0.0.1:1"));
        Assert.Contains("127.0.0.1:1", ex.Message);
    }

    private static Span<byte> Flat(byte[,,] a)
        => System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(a), a.Length);
}
