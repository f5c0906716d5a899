using System.Diagnostics.Metrics;

namespace Diced.Datastore;

/// <summary>
/// The data model's own metrics (meter <c>Diced</c>), exported by the server (OpenTelemetry, <c>/metrics</c>): commits
/// per instance and writes under way.
/// </summary>
public static class DicedMetrics
{
    public const string MeterName = "Diced";
    private static readonly Meter Meter = new(MeterName);

    /// <summary>Committed changes (one per transaction), tagged with the instance's type and name.</summary>
    public static readonly Counter<long> Commits = Meter.CreateCounter<long>("diced.commits", description: "committed changes per data instance");

    /// <summary>Transactions that have started and not yet committed or failed.</summary>
    public static readonly UpDownCounter<long> OpenWrites = Meter.CreateUpDownCounter<long>("diced.writes.open", description: "changes under way");

    /// <summary>Time of store operations (a versioned read, a commit), per backend.</summary>
    public static readonly Histogram<double> StoreDuration = Meter.CreateHistogram<double>("diced.store.duration", "s", "store reads and commits per backend");

    internal static void StoreTime(Storage.IKeyValueStore store, string op, long started)
        => StoreDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("backend", Backend(store)), new KeyValuePair<string, object?>("op", op));

    private static string Backend(Storage.IKeyValueStore store)
    {
        var d = store.Description;
        int space = d.IndexOf(' ');
        return space > 0 ? d[..space] : d;
    }

    internal static void Committed(InstanceRecord instance)
        => Commits.Add(1, new KeyValuePair<string, object?>("type", instance.TypeName), new KeyValuePair<string, object?>("instance", instance.Name));
}
