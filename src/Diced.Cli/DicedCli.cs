using System.Diagnostics;
using System.Globalization;
using Diced.Client;
using Diced.Codecs.Images;
using Diced.Server;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace Diced.Cli;

/// <summary>The <c>diced</c> command line. Errors print one line and exit non-zero; nothing prints a stack trace.</summary>
public static class DicedCli
{
    public const string Usage = """
        usage: diced <command> [options]

          serve [config.toml] [--data DIR|s3://…|gs://…] [--urls URL] [--Diced:Setting value]...
                                    run the server (a DVID TOML configuration is read as DVID would)
          repos                     list repos
          log <repo|uuid>           versions from the root to the repo's current version
          commit <uuid> -m MESSAGE  lock a version
          branch <uuid> -m MESSAGE [--name BRANCH]
                                    create a child version of a locked version
          ingest <file|dir|stack.tif> --repo R --array A [--dtype uint8|uint16|uint32|uint64]
                 [--size X,Y,Z (raw files)] [--offset X,Y,Z] [--version UUID] [--create]
                                    load a raw volume, a directory of PNG/TIFF slices or a multi-page TIFF
                                    (--create makes the repo and the array when missing)
          export --repo R --array A --size X,Y,Z [--offset X,Y,Z] --out PATH [--format raw|png] [--version UUID]
                                    write a region as raw bytes, or as one PNG per z slice in a directory

        every command but serve takes --store LOCATION: a server (http://host:port, dvid://host:port; the default
        is http://localhost:8000) or a store opened in-process (a directory, s3://bucket/prefix, gs://bucket/prefix).
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? stderr : stdout).Write(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "serve" => await ServeAsync(args[1..], stderr, ct),
                "repos" or "log" or "commit" or "branch" or "ingest" or "export" => await StoreCommandAsync(args[0], Options.Parse(args[1..]), stdout, stderr, ct),
                _ => throw new UsageException($"unknown command \"{args[0]}\""),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"diced: {e.Message}");
            stderr.WriteLine("run \"diced --help\" for usage");
            return 2;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            stderr.WriteLine("diced: cancelled");
            return 130;
        }
        catch (Exception e)
        {
            // Whatever went wrong (bad input, an unreachable or failing store, a surprise from a library), one line.
            var message = e is DicedException or IOException or FormatException or UnauthorizedAccessException or InvalidDataException or ArgumentException
                ? e.Message : $"{e.GetType().Name}: {e.Message}";
            stderr.WriteLine($"diced: error: {message}");
            return 1;
        }
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary><c>--name value</c> options, <c>-m</c> for messages, and positional arguments.</summary>
    private sealed class Options
    {
        public List<string> Positional { get; } = [];
        public Dictionary<string, string> Named { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Flags { get; } = [];

        private static readonly HashSet<string> FlagNames = ["--create", "--verbose"];

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                var a = args[i];
                if (a.StartsWith('-'))
                {
                    var name = a == "-m" ? "--message" : a;
                    if (FlagNames.Contains(name)) { o.Flags.Add(name); continue; }
                    if (i + 1 >= args.Length) throw new UsageException($"option {a} needs a value");
                    o.Named[name] = args[++i];
                }
                else o.Positional.Add(a);
            }
            return o;
        }

        public string Required(string name) => Named.TryGetValue(name, out var v) ? v : throw new UsageException($"missing {name}");

        public string? Get(string name) => Named.GetValueOrDefault(name);

        public (int X, int Y, int Z)? Point(string name)
        {
            if (Get(name) is not { } text) return null;
            var parts = text.Split(',');
            if (parts.Length != 3 || !parts.All(p => int.TryParse(p.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
                throw new UsageException($"{name} must be X,Y,Z integers, got \"{text}\"");
            var v = parts.Select(p => int.Parse(p.Trim(), CultureInfo.InvariantCulture)).ToArray();
            return (v[0], v[1], v[2]);
        }
    }

    // ------------------------------------------------------------------ serve

    private static async Task<int> ServeAsync(string[] args, TextWriter stderr, CancellationToken ct)
    {
        var serverArgs = new List<string>();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            if (!File.Exists(args[0])) throw new IOException($"configuration file {args[0]} does not exist");
            var warnings = new List<string>();
            serverArgs.AddRange(DvidToml.ToServerArguments(DvidToml.Parse(await File.ReadAllTextAsync(args[0], ct)), warnings));
            foreach (var w in warnings) stderr.WriteLine($"diced: note: {w}");
            i = 1;
        }
        serverArgs.AddRange(args[i..]); // later options override the configuration file
        var app = DicedApp.Configure(DicedApp.CreateBuilder([.. serverArgs]).Build());
        await app.StartAsync(ct);
        await app.WaitForShutdownAsync(ct);
        return 0;
    }

    // ------------------------------------------------------------------ store commands

    private static async Task<int> StoreCommandAsync(string command, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var location = o.Get("--store") ?? "http://localhost:8000";
        await using var store = await DicedStore.OpenAsync(location, new DicedStoreOptions { Port = 0, Verbose = o.Flags.Contains("--verbose") }, ct);
        switch (command)
        {
            case "repos":
                foreach (var r in await store.ListReposAsync(ct)) stdout.WriteLine($"{r.Root}  {r.Name}{(r.Description.Length > 0 ? "  " + r.Description : "")}");
                return 0;
            case "log":
            {
                if (o.Positional.Count != 1) throw new UsageException("log needs a repo name or version UUID");
                var repo = await OpenRepoAsync(store, o.Positional[0], ct);
                foreach (var v in repo.CommitLog()) stdout.WriteLine($"{v.Uuid}  {(v.Locked ? "locked" : "open  ")}  {v.Note}");
                return 0;
            }
            case "commit":
            {
                if (o.Positional.Count != 1) throw new UsageException("commit needs a version UUID");
                var repo = await store.OpenRepoAsync(uuid: o.Positional[0], ct: ct);
                await repo.LockAsync(o.Required("--message"), ct);
                stdout.WriteLine(repo.Uuid);
                return 0;
            }
            case "branch":
            {
                if (o.Positional.Count != 1) throw new UsageException("branch needs a version UUID");
                var repo = await store.OpenRepoAsync(uuid: o.Positional[0], ct: ct);
                stdout.WriteLine(await repo.CreateBranchAsync(o.Get("--message") ?? "", o.Get("--name"), ct));
                return 0;
            }
            case "ingest":
                await IngestAsync(store, o, stdout, stderr, ct);
                return 0;
            default:
                await ExportAsync(store, o, stdout, stderr, ct);
                return 0;
        }
    }

    private static async Task<DicedRepo> OpenRepoAsync(DicedStore store, string nameOrUuid, CancellationToken ct)
    {
        var repos = await store.ListReposAsync(ct);
        if (repos.Any(r => r.Name == nameOrUuid)) return await store.OpenRepoAsync(nameOrUuid, ct: ct);
        try { return await store.OpenRepoAsync(uuid: nameOrUuid, ct: ct); }
        catch (DicedException e) { throw new DicedException($"no repo named \"{nameOrUuid}\" and no version {nameOrUuid} ({e.Message})"); }
    }

    private static async Task<DicedArray> OpenArrayAsync(DicedStore store, Options o, ArrayDtype? createAs, CancellationToken ct)
    {
        DicedRepo repo;
        if (o.Get("--version") is { } v) repo = await store.OpenRepoAsync(uuid: v, ct: ct);
        else if (createAs is not null && !(await store.ListReposAsync(ct)).Any(r => r.Name == o.Required("--repo"))) repo = await store.CreateRepoAsync(o.Required("--repo"), ct: ct);
        else repo = await OpenRepoAsync(store, o.Required("--repo"), ct);
        var name = o.Required("--array");
        if (repo.ListArrays().Any(a => a.Name == name) || createAs is null) return await repo.GetArrayAsync(name, ct);
        return await repo.CreateArrayAsync(name, createAs.Value, ct: ct);
    }

    private static ArrayDtype ParseDtype(string? text) => (text ?? "uint8") switch
    {
        "uint8" => ArrayDtype.Uint8, "uint16" => ArrayDtype.Uint16, "uint32" => ArrayDtype.Uint32, "uint64" => ArrayDtype.Uint64,
        var t => throw new UsageException($"--dtype must be uint8, uint16, uint32 or uint64, not \"{t}\""),
    };

    // ------------------------------------------------------------------ ingest

    /// <summary>A source of z slices: a raw file, a directory of PNG/TIFF images, or a multi-page TIFF.</summary>
    private interface ISliceSource
    {
        (int X, int Y, int Z) Size { get; }
        /// <summary>Fills <paramref name="dest"/> with slices [z0, z0 + count) packed x fastest.</summary>
        void Read(int z0, int count, Span<byte> dest);
    }

    private static async Task IngestAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (o.Positional.Count != 1) throw new UsageException("ingest needs one input: a raw file, a directory of slices or a TIFF stack");
        var input = o.Positional[0];
        var dtype = ParseDtype(o.Get("--dtype"));
        int bpe = dtype switch { ArrayDtype.Uint8 => 1, ArrayDtype.Uint16 => 2, ArrayDtype.Uint32 => 4, _ => 8 };
        ISliceSource source = Directory.Exists(input) ? ImageStack.FromDirectory(input, bpe)
            : input.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || input.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase) ? ImageStack.FromTiff(input, bpe)
            : new RawFile(input, o.Point("--size") ?? throw new UsageException("a raw input needs --size X,Y,Z"), bpe);
        var offset = o.Point("--offset") ?? (0, 0, 0);
        var array = await OpenArrayAsync(store, o, o.Flags.Contains("--create") ? dtype : null, ct);
        if (array.Dtype != dtype) throw new DicedException($"array \"{array.Name}\" holds {array.Dtype}; the input was given as {dtype}");
        var size = source.Size;
        // Slabs of whole blocks in z (the first one up to a block boundary), two in flight: one read while one is sent.
        int bz = array.BlockSize.Z;
        var cuts = new List<(int Z0, int Count)>();
        for (int z = 0; z < size.Z;)
        {
            int next = Math.Min(size.Z, z + bz - Mod(offset.Z + z, bz));
            cuts.Add((z, next - z));
            z = next;
        }
        // Merge block-high slabs into ~64 MiB groups.
        long perSlice = (long)size.X * size.Y * bpe;
        if (perSlice * bz > DicedArray.MaxRequestBytes * 8)
            throw new DicedException($"one block-high slab of {size.X}x{size.Y} is {perSlice * bz} bytes; ingest it in parts with --offset (at most {DicedArray.MaxRequestBytes * 8 / bz / bpe} voxels per slice)");
        var groups = new List<(int Z0, int Count)>();
        foreach (var c in cuts)
        {
            if (groups.Count > 0 && (groups[^1].Count + c.Count) * perSlice <= DicedArray.MaxRequestBytes && groups[^1].Z0 + groups[^1].Count == c.Z0)
                groups[^1] = (groups[^1].Z0, groups[^1].Count + c.Count);
            else groups.Add(c);
        }
        var progress = new Progress(stderr, perSlice * size.Z, "ingest");
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = ct }, async (g, token) =>
        {
            var buffer = GC.AllocateUninitializedArray<byte>(checked((int)(g.Count * perSlice)));
            source.Read(g.Z0, g.Count, buffer);
            await array.WriteRawAsync((offset.X, offset.Y, offset.Z + g.Z0), (size.X, size.Y, g.Count), buffer, token);
            progress.Add(buffer.Length);
        });
        progress.Done(stdout, $"{size.X}x{size.Y}x{size.Z} {dtype} into {array.Name} at version {array.Version}");
    }

    private static int Mod(int a, int b) => ((a % b) + b) % b;

    private sealed class RawFile : ISliceSource
    {
        private readonly string _path;
        private readonly int _bpe;

        public RawFile(string path, (int X, int Y, int Z) size, int bpe)
        {
            if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
            if (size.X <= 0 || size.Y <= 0 || size.Z <= 0) throw new UsageException($"--size {size.X},{size.Y},{size.Z} must be positive");
            long expected = (long)size.X * size.Y * size.Z * bpe;
            long actual = new FileInfo(path).Length;
            if (actual != expected)
                throw new DicedException($"{path} has {actual} bytes; {size.X}x{size.Y}x{size.Z} elements of {bpe} bytes need {expected}");
            (_path, Size, _bpe) = (path, size, bpe);
        }

        public (int X, int Y, int Z) Size { get; }

        public void Read(int z0, int count, Span<byte> dest)
        {
            using var handle = File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long at = (long)z0 * Size.X * Size.Y * _bpe;
            int read = 0;
            while (read < dest.Length)
            {
                int n = RandomAccess.Read(handle, dest[read..], at + read);
                if (n == 0) throw new IOException($"{_path} ended early");
                read += n;
            }
        }
    }

    /// <summary>Z slices from image files: PNG (through Skia) and uncompressed grayscale TIFF (8/16-bit, multi-page).</summary>
    private sealed class ImageStack : ISliceSource
    {
        private readonly List<Func<byte[]>> _slices;

        private ImageStack(List<Func<byte[]>> slices, int width, int height)
        {
            _slices = slices;
            Size = (width, height, slices.Count);
        }

        public (int X, int Y, int Z) Size { get; }

        public void Read(int z0, int count, Span<byte> dest)
        {
            int slice = dest.Length / count;
            for (int i = 0; i < count; i++)
            {
                var pixels = _slices[z0 + i]();
                if (pixels.Length != slice) throw new DicedException($"slice {z0 + i} has {pixels.Length} bytes; the first slice set {slice}");
                pixels.CopyTo(dest.Slice(i * slice, slice));
            }
        }

        public static ImageStack FromDirectory(string dir, int bpe)
        {
            var files = Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".tif", StringComparison.OrdinalIgnoreCase)
                || f.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new DicedException($"{dir} has no .png or .tif slices");
            var first = Load(files[0], bpe);
            var (w, h) = (first.Width, first.Height);
            return new ImageStack(files.Select<string, Func<byte[]>>(f => () =>
            {
                var img = Load(f, bpe);
                if (img.Width != w || img.Height != h) throw new DicedException($"{f} is {img.Width}x{img.Height}; the first slice is {w}x{h}");
                return img.Pixels;
            }).ToList(), w, h);
        }

        public static ImageStack FromTiff(string path, int bpe)
        {
            if (!File.Exists(path)) throw new IOException($"input {path} does not exist");
            var pages = Tiff.Read(File.ReadAllBytes(path), bpe);
            if (pages.Count == 0) throw new DicedException($"{path} has no images");
            var (w, h) = (pages[0].Width, pages[0].Height);
            foreach (var p in pages)
                if (p.Width != w || p.Height != h) throw new DicedException($"{path}: pages differ in size ({p.Width}x{p.Height} vs {w}x{h})");
            return new ImageStack(pages.Select<(int Width, int Height, byte[] Pixels), Func<byte[]>>(p => () => p.Pixels).ToList(), w, h);
        }

        private static (int Width, int Height, byte[] Pixels) Load(string file, int bpe)
        {
            if (file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                if (bpe != 1) throw new DicedException($"{file}: PNG slices are read as 8-bit gray; use --dtype uint8 or 16-bit TIFF slices");
                using var bitmap = SKBitmap.Decode(file) ?? throw new DicedException($"{file} is not a readable PNG");
                using var gray = new SKBitmap(new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Gray8, SKAlphaType.Opaque));
                if (!bitmap.CopyTo(gray, SKColorType.Gray8)) throw new DicedException($"{file} cannot be converted to 8-bit gray");
                return (bitmap.Width, bitmap.Height, gray.Bytes);
            }
            var pages = Tiff.Read(File.ReadAllBytes(file), bpe);
            if (pages.Count != 1) throw new DicedException($"{file} has {pages.Count} pages; a slice directory needs single-page images");
            return pages[0];
        }
    }

    // ------------------------------------------------------------------ export

    private static async Task ExportAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var array = await OpenArrayAsync(store, o, null, ct);
        var size = o.Point("--size") ?? throw new UsageException("export needs --size X,Y,Z");
        var offset = o.Point("--offset") ?? (0, 0, 0);
        var output = o.Required("--out");
        var format = o.Get("--format") ?? (output.EndsWith(".raw", StringComparison.OrdinalIgnoreCase) ? "raw" : "png");
        if (format is not ("raw" or "png")) throw new UsageException($"--format must be raw or png, not \"{format}\"");
        if (format == "png" && array.Dtype is not (ArrayDtype.Uint8 or ArrayDtype.Uint16)) throw new DicedException($"PNG slices hold uint8 or uint16; \"{array.Name}\" holds {array.Dtype}; use --format raw");
        if (size.X <= 0 || size.Y <= 0 || size.Z <= 0) throw new UsageException($"--size {size.X},{size.Y},{size.Z} must be positive");
        long perSlice = (long)size.X * size.Y * array.BytesPerElement;
        int slicesPerRead = (int)Math.Max(1, Math.Min(size.Z, DicedArray.MaxRequestBytes / perSlice));
        var progress = new Progress(stderr, perSlice * size.Z, "export");
        if (format == "png") Directory.CreateDirectory(output);
        await using var raw = format == "raw" ? new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true) : null;
        for (int z = 0; z < size.Z; z += slicesPerRead)
        {
            int n = Math.Min(slicesPerRead, size.Z - z);
            var data = await array.ReadRawAsync((offset.X, offset.Y, offset.Z + z), (size.X, size.Y, n), ct);
            if (raw is not null) await raw.WriteAsync(data, ct);
            else
                for (int i = 0; i < n; i++)
                {
                    var png = PngEncoder.Encode(size.X, size.Y, array.Dtype == ArrayDtype.Uint8 ? PngPixels.Gray8 : PngPixels.Gray16, data.AsSpan((int)(i * perSlice), (int)perSlice));
                    await File.WriteAllBytesAsync(Path.Combine(output, $"z{offset.Z + z + i:D6}.png"), png, ct);
                }
            progress.Add(data.Length);
        }
        progress.Done(stdout, $"{size.X}x{size.Y}x{size.Z} of {array.Name} to {output}");
    }

    // ------------------------------------------------------------------ progress

    /// <summary>A progress bar with throughput on stderr, redrawn at most 10 times a second; a summary line at the end.</summary>
    private sealed class Progress(TextWriter stderr, long total, string what)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _done, _lastDraw;

        public void Add(long bytes)
        {
            long done = Interlocked.Add(ref _done, bytes);
            long now = _clock.ElapsedMilliseconds;
            if (now - Interlocked.Read(ref _lastDraw) < 100 && done < total) return;
            Interlocked.Exchange(ref _lastDraw, now);
            int width = 30, filled = total == 0 ? width : (int)(width * done / total);
            lock (stderr)
                stderr.Write($"\r{what} [{new string('#', filled)}{new string(' ', width - filled)}] {100.0 * done / Math.Max(1, total),5:F1}%  {done / 1e6 / Math.Max(1e-3, _clock.Elapsed.TotalSeconds),7:F1} MB/s");
        }

        public double MegabytesPerSecond => _done / 1e6 / Math.Max(1e-6, _clock.Elapsed.TotalSeconds);

        public void Done(TextWriter stdout, string summary)
        {
            lock (stderr) stderr.WriteLine();
            stdout.WriteLine($"{what}: {summary}: {_done / 1e6:F1} MB in {_clock.Elapsed.TotalSeconds:F2} s, {MegabytesPerSecond:F1} MB/s");
        }
    }
}
