using System.Text.RegularExpressions;
using Diced.Client;

namespace Diced.Cli;

/// <summary><c>diced files put|get|ls|rm</c>: files kept with a repo version (DICED's <c>.files</c>), by relative path.</summary>
public static partial class DicedCli
{
    private static async Task FilesAsync(DicedStore store, Options o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (o.Positional.Count == 0) throw new UsageException("files needs put, get, ls or rm");
        var args = o.Positional.Skip(1).ToList();
        var repo = o.Get("--version") is { } v ? await store.OpenRepoAsync(uuid: v, ct: ct)
            : o.Flags.Contains("--create") && o.Positional[0] == "put" && !(await store.ListReposAsync(ct)).Any(r => r.Name == o.Required("--repo"))
                ? await store.CreateRepoAsync(o.Required("--repo"), ct: ct)
                : await OpenRepoAsync(store, o.Required("--repo"), ct);
        switch (o.Positional[0])
        {
            case "put":
                await PutFilesAsync(repo, LocalFiles(args, o.Get("--to")), stdout, stderr, ct);
                break;
            case "get":
                await GetFilesAsync(repo, Select(await repo.ListFilesAsync(ct), args, requireMatch: true), o.Get("--out") ?? ".", stdout, stderr, ct);
                break;
            case "ls":
                foreach (var name in Select(await repo.ListFilesAsync(ct), args, requireMatch: false)) stdout.WriteLine(name);
                break;
            case "rm":
                if (args.Count == 0) throw new UsageException("files rm needs names or patterns (quote patterns: 'dir/*.txt')");
                foreach (var name in Select(await repo.ListFilesAsync(ct), args, requireMatch: true))
                {
                    await repo.DeleteFileAsync(name, ct);
                    stdout.WriteLine($"removed {name}");
                }
                break;
            default:
                throw new UsageException($"unknown files command \"{o.Positional[0]}\": use put, get, ls or rm");
        }
    }

    private static async Task PutFilesAsync(DicedRepo repo, List<(string Path, string Name)> files, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        foreach (var (_, name) in files) DicedRepo.CheckFileName(name);
        var progress = new Progress(stderr, files.Sum(f => new FileInfo(f.Path).Length), "files put");
        foreach (var (path, name) in files)
        {
            await using var file = new CountingStream(File.OpenRead(path), progress.Add);
            await repo.UploadFileAsync(name, file, new FileInfo(path).Length, ct);
        }
        progress.Done(stdout, $"{files.Count} file{(files.Count == 1 ? "" : "s")} into version {repo.Uuid}");
    }

    private static async Task GetFilesAsync(DicedRepo repo, List<string> names, string outDir, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var root = Path.GetFullPath(outDir);
        foreach (var name in names) // names another client stored are checked before anything is written
        {
            DicedRepo.CheckFileName(name);
            if (!Path.GetFullPath(Path.Combine(root, name)).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new DicedException($"stored file name \"{name}\" would be written outside {root}");
        }
        var progress = new Progress(stderr, 0, "files get");
        foreach (var name in names)
        {
            var target = Path.Combine(root, name);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var partial = target + ".diced-partial";
            await using (var file = new CountingStream(File.Create(partial), progress.Add))
                await repo.DownloadFileAsync(name, file, ct);
            File.Move(partial, target, overwrite: true);
        }
        progress.Done(stdout, $"{names.Count} file{(names.Count == 1 ? "" : "s")} from version {repo.Uuid} into {root}");
    }

    /// <summary>Local files to put, with the names they are stored under: a file by its name, a directory's files under
    /// the directory's name, a pattern's matches by their path below the pattern's fixed part; all under <paramref name="to"/>.</summary>
    internal static List<(string Path, string Name)> LocalFiles(IReadOnlyList<string> args, string? to)
    {
        if (args.Count == 0) throw new UsageException("files put needs files, directories or patterns");
        var files = new List<(string Path, string Name)>();
        foreach (var arg in args)
        {
            if (File.Exists(arg)) files.Add((arg, Path.GetFileName(arg)));
            else if (Directory.Exists(arg))
            {
                var dir = Path.GetFullPath(arg).TrimEnd(Path.DirectorySeparatorChar);
                foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                    files.Add((f, Path.GetFileName(dir) + "/" + Slashed(Path.GetRelativePath(dir, f))));
            }
            else if (arg.IndexOfAny(GlobChars) >= 0)
            {
                var normalized = Slashed(arg);
                int fixedEnd = normalized[..normalized.IndexOfAny(GlobChars)].LastIndexOf('/');
                var baseDir = fixedEnd < 0 ? "." : normalized[..Math.Max(fixedEnd, 1)];
                var pattern = Glob(normalized[(fixedEnd + 1)..]);
                var matches = Directory.Exists(baseDir)
                    ? Directory.EnumerateFiles(baseDir, "*", SearchOption.AllDirectories).Select(f => (f, Slashed(Path.GetRelativePath(baseDir, f))))
                        .Where(m => pattern.IsMatch(m.Item2)).Order().ToList()
                    : [];
                if (matches.Count == 0) throw new DicedException($"no file matches {arg}");
                files.AddRange(matches);
            }
            else throw new DicedException($"no such file or directory: {arg}");
        }
        var prefix = to is null ? "" : to.Trim('/') + "/";
        return files.Select(f => (f.Path, prefix + f.Name)).ToList();
    }

    /// <summary>Stored names matching any of <paramref name="args"/> (a name, a directory prefix, or a pattern); all when none given.</summary>
    internal static List<string> Select(IReadOnlyList<string> names, IReadOnlyList<string> args, bool requireMatch)
    {
        if (args.Count == 0) return names.Order(StringComparer.Ordinal).ToList();
        var chosen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var arg in args)
        {
            var pattern = arg.IndexOfAny(GlobChars) >= 0 ? Glob(arg) : null;
            var dir = arg.TrimEnd('/') + "/";
            var hits = names.Where(n => n == arg || n.StartsWith(dir, StringComparison.Ordinal) || pattern?.IsMatch(n) == true).ToList();
            if (hits.Count == 0 && requireMatch) throw new DicedException($"no stored file matches {arg}");
            chosen.UnionWith(hits);
        }
        return chosen.ToList();
    }

    private static readonly char[] GlobChars = ['*', '?', '['];

    /// <summary>A path pattern: <c>*</c> and <c>?</c> within one part, <c>**</c> across parts, <c>[abc]</c> classes.</summary>
    internal static Regex Glob(string pattern)
    {
        var rx = new System.Text.StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                bool slash = i + 2 < pattern.Length && pattern[i + 2] == '/';
                rx.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*') rx.Append("[^/]*");
            else if (c == '?') rx.Append("[^/]");
            else if (c == '[' && pattern.IndexOf(']', i + 1) is int end and > 0)
            {
                rx.Append('[').Append(Regex.Escape(pattern[(i + 1)..end]).Replace("\\-", "-")).Append(']');
                i = end;
            }
            else rx.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(rx.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    private static string Slashed(string path) => path.Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>A stream that reports the bytes read or written through it (progress of uploads and downloads).</summary>
    private sealed class CountingStream(Stream inner, Action<long> counted) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => Count(await inner.ReadAsync(buffer, ct));

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            counted(count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            await inner.WriteAsync(buffer, ct);
            counted(buffer.Length);
        }

        private int Count(int n)
        {
            counted(n);
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
