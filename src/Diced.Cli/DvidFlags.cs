namespace Diced.Cli;

/// <summary>
/// DVID's global flags, given before the command (<c>dvid -verbose -fullwrite serve config.toml</c>), so that lab
/// scripts and client test fixtures that start <c>dvid</c> can start <c>diced</c> unchanged. Go's flag syntax: one or
/// two dashes, <c>-name=value</c> or <c>-name value</c>; boolean flags take <c>=true|false</c>.
/// </summary>
public sealed record DvidFlags(bool ReadOnly, bool FullWrite, bool Verbose, bool Help)
{
    private static readonly HashSet<string> Booleans = ["readonly", "fullwrite", "verbose", "monitor", "stdin", "help", "h"];

    /// <summary>Flags DVID takes that mean nothing here (RPC address, profiling, CPU count, start delay): accepted, ignored.</summary>
    private static readonly HashSet<string> Valued = ["rpc", "cpuprofile", "memprofile", "numcpu", "sleep"];

    /// <summary>Splits the leading flags from the command and its arguments.</summary>
    /// <exception cref="ArgumentException">An unknown flag, a missing value, or both -readonly and -fullwrite.</exception>
    public static (DvidFlags Flags, string[] Command) Parse(string[] args)
    {
        bool readOnly = false, fullWrite = false, verbose = false, help = false;
        int i = 0;
        for (; i < args.Length && args[i].StartsWith('-') && args[i] != "-" && args[i] != "--"; i++)
        {
            var a = args[i].TrimStart('-');
            string name = a, value = "";
            int eq = a.IndexOf('=');
            if (eq >= 0) (name, value) = (a[..eq], a[(eq + 1)..]);
            if (Booleans.Contains(name))
            {
                bool on = eq < 0 || value is "true" or "1" or "t" or "T" or "TRUE" or "True";
                if (eq >= 0 && !on && value is not ("false" or "0" or "f" or "F" or "FALSE" or "False"))
                    throw new ArgumentException($"flag -{name} takes true or false, got \"{value}\"");
                switch (name)
                {
                    case "readonly": readOnly = on; break;
                    case "fullwrite": fullWrite = on; break;
                    case "verbose": verbose = on; break;
                    case "help" or "h": help = on; break;
                }
            }
            else if (Valued.Contains(name))
            {
                if (eq < 0 && ++i >= args.Length) throw new ArgumentException($"flag -{name} needs a value");
            }
            else return (new DvidFlags(readOnly, fullWrite, verbose, help), args[i..]); // a command's own option
        }
        if (readOnly && fullWrite) throw new ArgumentException("Can only do -fullwrite or -readonly, not both.");
        return (new DvidFlags(readOnly, fullWrite, verbose, help), args[i..]);
    }

    /// <summary>The server settings these flags stand for.</summary>
    public IEnumerable<string> ServerArguments()
    {
        if (ReadOnly) yield return "--Diced:ReadOnly=true";
        if (FullWrite) yield return "--Diced:FullWrite=true";
        if (Verbose) yield return "--Serilog:MinimumLevel:Default=Debug";
    }
}
