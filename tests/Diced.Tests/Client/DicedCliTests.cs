using System.Net;
using Diced.Cli;
using Diced.Client;
using Diced.Tests.Infrastructure;
using SkiaSharp;

namespace Diced.Tests.Client;

/// <summary>The diced command line, run in-process with captured output.</summary>
public class DicedCliTests() : CliTest("diced-cli")
{
    [Fact]
    public async Task Ingest_a_raw_volume_export_it_back_and_walk_the_versions()
    {
        var raw = Path.Combine(Dir, "vol.raw");
        var data = new byte[100 * 80 * 70];
        new Random(5).NextBytes(data);
        await File.WriteAllBytesAsync(raw, data);
        var ingest = await Diced("ingest", raw, "--size", "100,80,70", "--offset", "10,20,30", "--repo", "em", "--array", "grey", "--create", "--store", Store);
        Assert.True(ingest.Code == 0, ingest.Err);
        Assert.Contains("MB/s", ingest.Out);
        Assert.Contains("ingest [", ingest.Err); // the progress bar

        var exported = Path.Combine(Dir, "out.raw");
        var export = await Diced("export", "--repo", "em", "--array", "grey", "--offset", "10,20,30", "--size", "100,80,70", "--out", exported, "--store", Store);
        Assert.True(export.Code == 0, export.Err);
        Assert.Equal(data, await File.ReadAllBytesAsync(exported));

        var pngs = Path.Combine(Dir, "png");
        Assert.Equal(0, (await Diced("export", "--repo", "em", "--array", "grey", "--offset", "10,20,31", "--size", "100,80,2", "--out", pngs, "--store", Store)).Code);
        using (var slice = SKBitmap.Decode(Path.Combine(pngs, "z000032.png")))
        {
            Assert.Equal(100, slice.Width);
            Assert.Equal(data[(2 * 80 + 7) * 100 + 9], slice.GetPixel(9, 7).Red);
        }

        var repos = await Diced("repos", "--store", Store);
        Assert.Contains("  em", repos.Out);
        var root = repos.Out.Split(' ')[0];
        Assert.Equal(0, (await Diced("commit", root, "-m", "raw ingest", "--store", Store)).Code);
        var child = (await Diced("branch", root, "-m", "edits", "--store", Store)).Out.Trim();
        var log = await Diced("log", child, "--store", Store);
        Assert.Contains($"{root}  locked  raw ingest", log.Out);
        Assert.Contains($"{child}  open", log.Out);
        // The locked version refuses writes: a clear message, exit 1, no stack trace.
        var locked = await Diced("ingest", raw, "--size", "100,80,70", "--version", root, "--array", "grey", "--store", Store);
        Assert.Equal(1, locked.Code);
        Assert.Contains("locked", locked.Err);
        Assert.DoesNotContain("   at ", locked.Err);
    }

    [Fact]
    public async Task Ingest_slice_stacks_from_tiff_and_png()
    {
        var pages = Enumerable.Range(0, 5).Select(z =>
        {
            var px = new byte[40 * 30 * 2];
            for (int i = 0; i < 40 * 30; i++) BitConverter.TryWriteBytes(px.AsSpan(2 * i), (ushort)(z * 1000 + i));
            return (40, 30, px);
        }).ToList();
        var tif = Path.Combine(Dir, "stack.tif");
        Tiff.Write(tif, pages, 2);
        var r = await Diced("ingest", tif, "--dtype", "uint16", "--repo", "s", "--array", "t16", "--create", "--store", Store);
        Assert.True(r.Code == 0, r.Err);
        await using (var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 }))
        {
            var arr = await (await store.OpenRepoAsync("s")).GetArrayAsync("t16");
            Assert.Equal(4 * 1000 + 31 * 1 + 40 * 2, (int)arr[4, 2, 31]);
        }

        var dir = Path.Combine(Dir, "slices");
        Directory.CreateDirectory(dir);
        for (int z = 0; z < 3; z++)
        {
            using var bmp = new SKBitmap(new SKImageInfo(16, 8, SKColorType.Gray8, SKAlphaType.Opaque));
            for (int y = 0; y < 8; y++) for (int x = 0; x < 16; x++) bmp.SetPixel(x, y, new SKColor((byte)(z * 50 + x), (byte)(z * 50 + x), (byte)(z * 50 + x)));
            using var png = bmp.Encode(SKEncodedImageFormat.Png, 100);
            await File.WriteAllBytesAsync(Path.Combine(dir, $"slice{z:D3}.png"), png.ToArray());
        }
        r = await Diced("ingest", dir, "--repo", "s", "--array", "p8", "--create", "--store", Store);
        Assert.True(r.Code == 0, r.Err);
        await using (var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 }))
        {
            var arr = await (await store.OpenRepoAsync("s")).GetArrayAsync("p8");
            Assert.Equal(2UL * 50 + 13, arr[2, 5, 13]);
        }
    }

    [Fact]
    public async Task Bad_input_gets_one_clear_line_and_a_non_zero_exit()
    {
        var raw = Path.Combine(Dir, "small.raw");
        await File.WriteAllBytesAsync(raw, new byte[100]);
        var cases = new (string[] Args, int Code, string Message)[]
        {
            (["frobnicate"], 2, "unknown command"),
            (["ingest", raw, "--size", "10,10,2", "--repo", "r", "--array", "a", "--create", "--store", Store], 1, "has 100 bytes"),
            (["ingest", raw, "--size", "10,10", "--repo", "r", "--array", "a", "--store", Store], 2, "X,Y,Z"),
            (["ingest", raw, "--size", "10,10,1", "--dtype", "int7", "--repo", "r", "--array", "a", "--store", Store], 2, "--dtype"),
            (["log", "nosuchrepo", "--store", Store], 1, "nosuchrepo"),
            (["export", "--repo", "nosuch", "--array", "a", "--size", "1,1,1", "--out", Path.Combine(Dir, "x.raw"), "--store", Store], 1, "no repo named"),
            (["repos", "--store", "http://127.0.0.1:1"], 1, "127.0.0.1:1"),
            (["commit", "--store", Store], 2, "needs a version"),
            (["ingest", Path.Combine(Dir, "missing.raw"), "--size", "1,1,1", "--repo", "r", "--array", "a", "--store", Store], 1, "does not exist"),
        };
        foreach (var (args, code, message) in cases)
        {
            var r = await Diced(args);
            Assert.True(r.Code == code, $"{string.Join(' ', args)}: exit {r.Code}, {r.Err}");
            Assert.Contains(message, r.Err);
            Assert.DoesNotContain("   at ", r.Err);
        }
    }

    [Fact]
    public void Dvid_toml_configurations_map_to_server_settings()
    {
        var toml = """
            # a DVID configuration
            [server]
            httpAddress = ":8123"
            rpcAddress = ":8001"
            note = "lab server"

            [store]
                [store.mutable]
                engine = "basholeveldb"
                path = "/data/mutable"

                [store.images]
                engine = "gbucket"
                bucket = "em-images"

            [backend]
                [backend.default]
                store = "mutable"
                [backend.uint8blk]
                store = "images"
                [backend."a1b2:segmentation"]
                store = "mutable"
            """;
        var warnings = new List<string>();
        var args = DvidToml.ToServerArguments(DvidToml.Parse(toml), warnings);
        var pairs = Enumerable.Range(0, args.Count / 2).ToDictionary(i => args[2 * i], i => args[2 * i + 1]);
        Assert.Equal("http://0.0.0.0:8123", pairs["--urls"]);
        Assert.Equal("/data/mutable", pairs["--data"]);
        Assert.Equal("gs://em-images/", pairs["--Diced:Stores:images"]);
        Assert.Equal("images", pairs["--Diced:Backend:uint8blk"]);
        Assert.Equal("default", pairs["--Diced:Backend:a1b2/segmentation"]);
        Assert.Equal("lab server", pairs["--Diced:Note"]);
        Assert.Contains(warnings, w => w.Contains("rpcAddress"));
        Assert.Throws<FormatException>(() => DvidToml.Parse("[server\nhttpAddress = 1"));
    }

    [Fact]
    public async Task Serve_reads_a_dvid_configuration()
    {
        int port = ServerProcess.FreePort();
        var toml = Path.Combine(Dir, "config.toml");
        await File.WriteAllTextAsync(toml, $"[server]\nhttpAddress = \"127.0.0.1:{port}\"\nnote = \"from toml\"\n\n[store]\n[store.main]\nengine = \"badger\"\npath = \"{Store}\"\n");
        using var cts = new CancellationTokenSource();
        var serve = DicedCli.RunAsync(["serve", toml], TextWriter.Null, TextWriter.Null, cts.Token);
        using var http = new HttpClient();
        string? note = null;
        for (int i = 0; i < 100 && note is null; i++)
        {
            try { note = await http.GetStringAsync($"http://127.0.0.1:{port}/api/server/note"); }
            catch (HttpRequestException) { await Task.Delay(100); }
        }
        Assert.Contains("from toml", note);
        cts.Cancel();
        Assert.Equal(0, await serve);
        Assert.True(Directory.Exists(Store));
    }

    /// <summary>Issue 12: a command run on an in-process store printed the server's start-up and shut-down log around its answer.</summary>
    [Fact]
    public async Task A_command_on_an_in_process_store_prints_only_its_answer()
    {
        string root;
        await using (var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 }))
            root = (await store.CreateRepoAsync("quiet", "a repo")).Root;
        var cli = Path.Combine(Path.GetDirectoryName(ServerProcess.ServerDll)!, "..", "..", "..", "..", "Diced.Cli", "bin",
            new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "diced.dll");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.GetFullPath(cli), "repos", "--store", Store }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000));
        Assert.Equal(0, p.ExitCode);
        Assert.Equal($"{root}  quiet  a repo\n", await stdout);
        Assert.Equal("", await stderr);
    }

    /// <summary>Issue 18: <c>--resume</c> compares each part with what the array holds and sends only the parts that differ.</summary>
    [Fact]
    public async Task Ingest_resume_skips_the_parts_already_stored()
    {
        var raw = Path.Combine(Dir, "big.raw");
        var data = new byte[1024 * 1024 * 32]; // four 8 MiB requests
        new Random(8).NextBytes(data);
        await File.WriteAllBytesAsync(raw, data);
        var first = await Diced("ingest", raw, "--size", "1024,1024,32", "--repo", "em", "--array", "grey", "--create", "--store", Store);
        Assert.True(first.Code == 0, first.Err);
        // An interrupted ingest: the second half never arrived (here: overwritten with zeros).
        await using (var store = await DicedStore.OpenAsync(Store, new DicedStoreOptions { Port = 0 }))
        {
            var array = await (await store.OpenRepoAsync("em")).GetArrayAsync("grey");
            await array.WriteRawAsync((0, 512, 0), (1024, 512, 32), new byte[1024 * 512 * 32]);
        }
        var resumed = await Diced("ingest", raw, "--size", "1024,1024,32", "--repo", "em", "--array", "grey", "--resume", "--store", Store);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("(2 of 4 parts already stored)", resumed.Out);
        var back = Path.Combine(Dir, "back.raw");
        Assert.Equal(0, (await Diced("export", "--repo", "em", "--array", "grey", "--size", "1024,1024,32", "--out", back, "--store", Store)).Code);
        var got = await File.ReadAllBytesAsync(back);
        Assert.True(data.AsSpan().SequenceEqual(got));
    }

    /// <summary>The image-stack cache kept 256 decoded slices whatever their size (16 GiB of 8k² slices); it is bounded
    /// by bytes now, and still holds two 64-slice layers of 1024² slices.</summary>
    [Fact]
    public void Decoded_slices_kept_are_bounded_by_bytes()
    {
        Assert.Equal(128, ImageStack.SlicesKept(1024, 1024, 1));
        Assert.Equal(2, ImageStack.SlicesKept(8192, 8192, 1));
        Assert.Equal(1, ImageStack.SlicesKept(16384, 16384, 2));
        Assert.Equal(256, ImageStack.SlicesKept(64, 64, 1));
    }
}
