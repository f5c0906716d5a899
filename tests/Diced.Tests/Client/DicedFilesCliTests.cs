using Diced.Cli;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Client;

/// <summary>Issue 18: <c>diced files put|get|ls|rm</c> keep files with a version, byte for byte, with directories and patterns.</summary>
public class DicedFilesCliTests() : CliTest("diced-files")
{
    private string Write(string relative, int bytes, int seed)
    {
        var path = Path.Combine(Dir, "in", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        File.WriteAllBytes(path, data);
        return path;
    }

    [Fact]
    public async Task Files_round_trip_byte_for_byte_with_directories_patterns_and_versions()
    {
        var big = Write("scan.bin", 3_500_000, 1);
        Write("notes/a.txt", 10, 2);
        Write("notes/deep/b.txt", 0, 3); // empty files too
        Write("notes/deep/c.csv", 777, 4);
        Write("logs/x.log", 50, 5);
        Write("logs/y.log", 60, 6);
        Write("logs/z.txt", 70, 7);
        var input = Path.Combine(Dir, "in");

        var put = await Diced("files", "put", big, Path.Combine(input, "notes"), Path.Combine(input, "logs", "*.log"), "--repo", "lab", "--create", "--store", Store);
        Assert.True(put.Code == 0, put.Err);
        Assert.Contains("6 files", put.Out);
        Assert.Contains("files put [", put.Err); // progress
        var ls = await Diced("files", "ls", "--repo", "lab", "--store", Store);
        Assert.Equal(["notes/a.txt", "notes/deep/b.txt", "notes/deep/c.csv", "scan.bin", "x.log", "y.log"], Lines(ls.Out));
        Assert.Equal(["notes/deep/b.txt", "notes/deep/c.csv"], Lines((await Diced("files", "ls", "notes/deep", "--repo", "lab", "--store", Store)).Out));
        Assert.Equal(["notes/a.txt", "notes/deep/b.txt"], Lines((await Diced("files", "ls", "notes/**/*.txt", "--repo", "lab", "--store", Store)).Out));

        var outDir = Path.Combine(Dir, "out");
        var get = await Diced("files", "get", "--out", outDir, "--repo", "lab", "--store", Store);
        Assert.True(get.Code == 0, get.Err);
        Assert.Equal(await File.ReadAllBytesAsync(big), await File.ReadAllBytesAsync(Path.Combine(outDir, "scan.bin")));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(input, "notes", "deep", "c.csv")), await File.ReadAllBytesAsync(Path.Combine(outDir, "notes", "deep", "c.csv")));
        Assert.Empty(await File.ReadAllBytesAsync(Path.Combine(outDir, "notes", "deep", "b.txt")));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(input, "logs", "y.log")), await File.ReadAllBytesAsync(Path.Combine(outDir, "y.log")));
        Assert.Empty(Directory.GetFiles(outDir, "*.diced-partial", SearchOption.AllDirectories));

        // Versions: the files stay with the committed version; a child removes some.
        var root = (await Diced("repos", "--store", Store)).Out.Split(' ')[0];
        Assert.Equal(0, (await Diced("commit", root, "-m", "files", "--store", Store)).Code);
        var child = (await Diced("branch", root, "-m", "tidy", "--store", Store)).Out.Trim();
        var rm = await Diced("files", "rm", "*.log", "notes/deep", "--version", child, "--store", Store);
        Assert.True(rm.Code == 0, rm.Err);
        Assert.Equal(["notes/a.txt", "scan.bin"], Lines((await Diced("files", "ls", "--version", child, "--store", Store)).Out));
        Assert.Equal(6, Lines((await Diced("files", "ls", "--version", root, "--store", Store)).Out).Length);
        var locked = await Diced("files", "rm", "scan.bin", "--version", root, "--store", Store);
        Assert.Equal(1, locked.Code);
        Assert.Contains("locked", locked.Err);
    }

    [Fact]
    public async Task Bad_file_arguments_are_one_line_errors_and_store_nothing()
    {
        var ok = Write("ok.txt", 5, 1);
        var missing = await Diced("files", "put", ok, Path.Combine(Dir, "nope.txt"), "--repo", "lab", "--create", "--store", Store);
        Assert.Equal(1, missing.Code);
        Assert.Contains("no such file or directory", missing.Err);
        Assert.Single(missing.Err.Trim().Split('\n'));
        var ls = await Diced("files", "ls", "--repo", "lab", "--store", Store);
        Assert.Empty(Lines(ls.Out)); // the repo was made, nothing stored

        Assert.Contains("no file matches", (await Diced("files", "put", Path.Combine(Dir, "in", "*.zzz"), "--repo", "lab", "--store", Store)).Err);
        Assert.Contains("no stored file matches", (await Diced("files", "get", "absent.txt", "--out", Dir, "--repo", "lab", "--store", Store)).Err);
        Assert.Contains("relative path", (await Diced("files", "put", ok, "--to", "../up", "--repo", "lab", "--store", Store)).Err);
        Assert.Equal(2, (await Diced("files", "frob", "--repo", "lab", "--store", Store)).Code);
    }

    /// <summary>A name stored by another client (any keyvalue key) must never write outside the output directory.</summary>
    [Fact]
    public async Task Stored_names_that_escape_the_output_directory_are_refused_before_anything_is_written()
    {
        var ok = Write("ok.txt", 5, 1);
        Assert.Equal(0, (await Diced("files", "put", ok, "--repo", "lab", "--create", "--store", Store)).Code);
        await using (var store = await global::Diced.Client.DicedStore.OpenAsync(Store, new global::Diced.Client.DicedStoreOptions { Port = 0 }))
        {
            var repo = await store.OpenRepoAsync("lab");
            using var http = new HttpClient { BaseAddress = store.Address };
            var r = await http.PostAsync($"/api/node/{repo.Uuid}/.files/key/..%2Fescaped.txt", new ByteArrayContent([1, 2, 3]));
            r.EnsureSuccessStatusCode();
        }
        var outDir = Path.Combine(Dir, "out");
        var get = await Diced("files", "get", "--out", outDir, "--repo", "lab", "--store", Store);
        Assert.Equal(1, get.Code);
        Assert.Contains("relative path", get.Err);
        Assert.False(File.Exists(Path.Combine(Dir, "escaped.txt")));
        Assert.False(File.Exists(Path.Combine(outDir, "ok.txt")));
    }

    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
