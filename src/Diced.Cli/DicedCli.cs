using System.Diagnostics;
using System.Globalization;
using Diced.Client;
using Diced.Codecs.Images;
using Diced.Server;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace Diced.Cli;

/// <summary>The <c>diced</c> command line. Errors print one line and exit non-zero; nothing prints a stack trace.</summary>
public static partial class DicedCli
{
    public const string Usage = """
        usage: diced [DVID flags] <command> …   (a "dvid" link to diced takes DVID's command line unchanged)

        DVID flags, before the command:
          -readonly                 the HTTP API accepts only GET and HEAD (admin token excepted)
          -fullwrite                writes and mutations are allowed on locked (committed) nodes [expert use]
          -verbose                  debug-level server log
          -rpc=ADDR, -numcpu=N, -cpuprofile=F, -memprofile=F, -sleep=S, -monitor, -stdin   accepted and ignored

        commands:
          about                     the version
          serve [config.toml] [--data DIR|s3://…|gs://…] [--urls URL] [--Diced:Setting value]...
                                    run the server (a DVID TOML configuration is read as DVID would)
          whoami                    who the server takes you to be (with a token)
          repos                     list repos
          log <repo|uuid>           versions from the root to the repo's current version
          commit <uuid> -m MESSAGE  lock a version
          branch <uuid> -m MESSAGE [--name BRANCH]
                                    create a child version of a locked version
          ingest <file|dir|stack.tif|array.zarr|file.h5:/dataset> --repo R --array A [--dtype uint8|uint16|uint32|uint64]
                 [--size X,Y,Z (raw files)] [--offset X,Y,Z] [--version UUID] [--create] [--resume]
                                    load a raw volume, a directory of PNG/TIFF slices, a multi-page TIFF, a
                                    zarr v2/v3 array directory (sharded too) or an HDF5 dataset; inputs of 4 to 8
                                    dimensions go into an n-D array of their shape
                                    (--create makes the repo and the array when missing; --resume skips the
                                    parts the array already holds, compared byte for byte)
          downres --repo R --array A --levels N [--version UUID]
                                    keep N coarser levels of an image array (2x2x2 means, read as A_1..A_N, e.g. by
                                    Neuroglancer) and build them over what is already written
          export --repo R --array A --size X,Y,Z [--offset X,Y,Z] --out PATH [--format raw|png] [--version UUID]
                                    write a region as raw bytes, or as one PNG per z slice in a directory
          files put --repo R [--version UUID] [--to DIR] [--create] FILES|DIRS|'PATTERNS'...
                                    keep files with a version (directories whole, under their name; patterns
                                    with * ? ** [abc], stored by their path below the pattern's fixed part)
          files get --repo R [--version UUID] [--out DIR] [NAMES|DIRS|'PATTERNS'...]
                                    write stored files (all when none named) below DIR, byte for byte
          files ls --repo R [--version UUID] [PATTERNS...]  |  files rm --repo R [--version UUID] NAMES|'PATTERNS'...

        every command but serve takes --store LOCATION: a server (http://host:port, dvid://host:port; the default
        is http://localhost:8000) or a store opened in-process (a directory, s3://bucket/prefix, gs://bucket/prefix),
        and --verbose to show the in-process server's log; --token TOKEN (default: DICED_TOKEN) is sent to a
        server with authentication on.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        DvidFlags flags;
        try { (flags, args) = DvidFlags.Parse(args); }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"diced: {e.Message}");
            return 2;
        }
        if (flags.Help || args.Length == 0 || args[0] is "help")
        {
            (args.Length == 0 && !flags.Help ? stderr : stdout).Write(Usage);
            return args.Length == 0 && !flags.Help ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "serve" => await ServeAsync([.. args[1..], .. flags.ServerArguments()], stderr, ct),
                "about" => About(stdout),
                "whoami" or "repos" or "log" or "commit" or "branch" or "ingest" or "export" or "files" or "downres" => await StoreCommandAsync(args[0], Options.Parse(args[1..]), stdout, stderr, ct),
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

    internal sealed class UsageException(string message) : Exception(message);

    private static int About(TextWriter stdout)
    {
        stdout.WriteLine($"diced {typeof(DicedCli).Assembly.GetName().Version?.ToString(3)}: a DVID-compatible versioned volume server");
        return 0;
    }

    /// <summary><c>--name value</c> options, <c>-m</c> for messages, and positional arguments.</summary>
    private sealed class Options
    {
        public List<string> Positional { get; } = [];
        public Dictionary<string, string> Named { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Flags { get; } = [];

        private static readonly HashSet<string> FlagNames = ["--create", "--verbose", "--resume"];

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
            serverArgs.AddRange(["--Diced:TomlLocation", Path.GetFullPath(args[0])]);
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
        var options = new DicedStoreOptions { Port = 0, Verbose = o.Flags.Contains("--verbose") };
        if (o.Get("--token") is { } token) options = new DicedStoreOptions { Port = 0, Verbose = options.Verbose, Token = token };
        await using var store = await DicedStore.OpenAsync(location, options, ct);
        switch (command)
        {
            case "whoami":
                stdout.WriteLine(await store.WhoAmIAsync(ct) ?? "anonymous");
                return 0;
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
            case "files":
                await FilesAsync(store, o, stdout, stderr, ct);
                return 0;
            case "downres":
                await DownresAsync(store, o, stdout, stderr, ct);
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

    /// <summary>The repo an array command names: <c>--version</c>, else <c>--repo</c> (made when <paramref name="create"/> and missing).</summary>
    private static async Task<DicedRepo> OpenRepoForArrayAsync(DicedStore store, Options o, bool create, CancellationToken ct)
    {
        if (o.Get("--version") is { } v) return await store.OpenRepoAsync(uuid: v, ct: ct);
        if (create && !(await store.ListReposAsync(ct)).Any(r => r.Name == o.Required("--repo"))) return await store.CreateRepoAsync(o.Required("--repo"), ct: ct);
        return await OpenRepoAsync(store, o.Required("--repo"), ct);
    }

    private static async Task<DicedArray> OpenArrayAsync(DicedStore store, Options o, ArrayDtype? createAs, CancellationToken ct)
    {
        var repo = await OpenRepoForArrayAsync(store, o, createAs is not null, ct);
        var name = o.Required("--array");
        if (repo.ListArrays().Any(a => a.Name == name) || createAs is null) return await repo.GetArrayAsync(name, ct);
        return await repo.CreateArrayAsync(name, createAs.Value, ct: ct);
    }

    private static ArrayDtype ParseDtype(string? text) => (text ?? "uint8") switch
    {
        "uint8" => ArrayDtype.Uint8, "uint16" => ArrayDtype.Uint16, "uint32" => ArrayDtype.Uint32, "uint64" => ArrayDtype.Uint64,
        var t => throw new UsageException($"--dtype must be uint8, uint16, uint32 or uint64, not \"{t}\""),
    };
}
