using System.Collections.Concurrent;
using System.Diagnostics;

namespace Diced.Tests.Infrastructure;

/// <summary>
/// Debian's /usr/bin/python3 with its packages (python3-h5py, python3-zarr), for test inputs written by the tools users
/// write them with; missing packages are installed as the other test dependencies are (apt-get, as root).
/// </summary>
public static class DebianPython
{
    private const string Python = "/usr/bin/python3";
    private static readonly ConcurrentDictionary<string, Lazy<bool>> Installed = new();

    /// <summary>Makes sure <paramref name="module"/> imports, installing <paramref name="package"/> if it does not.</summary>
    public static void Require(string module, string package)
    {
        var ok = Installed.GetOrAdd(module, _ => new Lazy<bool>(() =>
        {
            if (Exec(Python, "-c", $"import {module}").Code == 0) return true;
            lock (Installed)
            {
                Exec("apt-get", "update", "-qq");
                Exec("apt-get", "install", "-y", "-qq", package, "python3-numpy");
            }
            return Exec(Python, "-c", $"import {module}").Code == 0;
        })).Value;
        Assert.True(ok, $"{package} is missing and could not be installed");
    }

    /// <summary>Runs a Python script (its lines may be indented as a C# raw string); fails the test on a non-zero exit.</summary>
    public static void Run(string script, params string[] args)
    {
        var lines = script.Replace("\r", "").Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        var code = string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
        var (exit, err) = Exec(Python, ["-c", code, .. args]);
        Assert.True(exit == 0, $"python3 failed: {err}");
    }

    private static (int Code, string Err) Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        try
        {
            using var p = Process.Start(psi)!;
            _ = p.StandardOutput.ReadToEndAsync();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, err);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}
