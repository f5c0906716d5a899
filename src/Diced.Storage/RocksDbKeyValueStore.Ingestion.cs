using static Diced.Storage.RocksDbNative;

namespace Diced.Storage;

/// <summary>
/// Large batches bypass the write-ahead log and the memtable: they are written as sorted table files, fsynced, and
/// ingested into the tree in one step. One ingestion is atomic (one manifest record, written and synced before it
/// returns), so a batch still lands whole or not at all, and survives power loss as well as a killed process. Bulk
/// data is written once instead of three times (log, flush, compaction): a fresh range is placed in the lowest level,
/// where no compaction rewrites it.
/// </summary>
public sealed unsafe partial class RocksDbKeyValueStore
{
    private const string StagingDirectory = "ingest-staging";
    private long _stagedFiles;

    /// <summary>Batches of this many bytes or more go through a table file (0: never).</summary>
    private readonly long _ingestThreshold;

    private string StagingPath => Path.Combine(_path, StagingDirectory);

    /// <summary>Removes table files a killed process left half-written (they were never ingested).</summary>
    private void ClearStaging()
    {
        if (Directory.Exists(StagingPath)) Directory.Delete(StagingPath, recursive: true);
    }

    private bool ShouldIngest(WriteBatch batch) => _ingestThreshold > 0 && batch.Bytes >= _ingestThreshold;

    /// <summary>Values at least this large are bulk data (volume blocks); smaller ones are metadata.</summary>
    private const int BulkValueBytes = 16 * 1024;

    /// <summary>Most table files one batch is cut into (beyond that, one file).</summary>
    private const int MaxFilesPerBatch = 8;

    /// <summary>
    /// Writes <paramref name="batch"/> as table files and ingests them in one call, which is atomic (later operations
    /// on a key win, as in a write batch). The sorted operations are cut where bulk values give way to metadata, so
    /// a slab's blocks make a file of their own: metadata keys written by every slab (extents) would otherwise make
    /// each file overlap the last, land in level 0 and be rewritten by compactions again and again.
    /// </summary>
    private void Ingest(WriteBatch batch)
    {
        var ops = batch.Operations;
        // Sorted by key, the last operation on each key kept: a table file holds each key once, in order.
        var order = Enumerable.Range(0, ops.Count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            int c = ops[a].Key.AsSpan().SequenceCompareTo(ops[b].Key);
            return c != 0 ? c : a.CompareTo(b);
        });
        var final = new List<(byte[] Key, byte[]? Value)>(order.Length);
        for (int i = 0; i < order.Length; i++)
            if (i + 1 == order.Length || !ops[order[i]].Key.AsSpan().SequenceEqual(ops[order[i + 1]].Key)) final.Add(ops[order[i]]);
        var segments = Segments(final);
        Directory.CreateDirectory(StagingPath);
        var files = new List<string>();
        try
        {
            foreach (var (start, count) in segments) files.Add(WriteTableFile(final, start, count));
            IngestFiles(files);
        }
        finally
        {
            foreach (var file in files)
                if (File.Exists(file)) File.Delete(file); // moved files leave a hard link behind
        }
    }

    /// <summary>Contiguous runs of bulk or metadata puts (deletes join the run they are in), also cut where the keys'
    /// first byte changes: a file spanning from one key space into the next (data keys, then a change record) would
    /// cover every other instance's keys between them, and their bulk files could then never settle below it.</summary>
    internal static List<(int Start, int Count)> Segments(List<(byte[] Key, byte[]? Value)> ops)
    {
        var segments = new List<(int Start, int Count)>();
        bool? bulk = null;
        int start = 0;
        for (int i = 0; i < ops.Count; i++)
        {
            if (i > start && ops[i].Key.Length > 0 && ops[start].Key.Length > 0 && ops[i].Key[0] != ops[start].Key[0])
            {
                segments.Add((start, i - start));
                start = i;
                bulk = null;
            }
            if (ops[i].Value is not { } value) continue;
            bool isBulk = value.Length >= BulkValueBytes;
            if (bulk is { } b && b != isBulk)
            {
                segments.Add((start, i - start));
                start = i;
            }
            bulk = isBulk;
        }
        segments.Add((start, ops.Count - start));
        return segments.Count <= MaxFilesPerBatch ? segments : [(0, ops.Count)];
    }

    /// <summary>Writes ops [start, start + count) as a table file (fsynced) in the staging directory.</summary>
    private string WriteTableFile(List<(byte[] Key, byte[]? Value)> ops, int start, int count)
    {
        var file = Path.Combine(StagingPath, $"{Environment.ProcessId}-{Interlocked.Increment(ref _stagedFiles)}.sst");
        var env = rocksdb_envoptions_create();
        var writer = rocksdb_sstfilewriter_create(env, _options);
        try
        {
            rocksdb_sstfilewriter_open(writer, file, out var err);
            Check(err);
            for (int i = start; i < start + count; i++)
            {
                var (key, value) = ops[i];
                fixed (byte* k = key)
                {
                    if (value is null) rocksdb_sstfilewriter_delete(writer, k, (nuint)key.Length, out err);
                    else
                        fixed (byte* v = value)
                            rocksdb_sstfilewriter_put(writer, k, (nuint)key.Length, v, (nuint)value.Length, out err);
                }
                Check(err);
            }
            rocksdb_sstfilewriter_finish(writer, out err); // fsyncs the file
            Check(err);
            return file;
        }
        catch
        {
            File.Delete(file);
            throw;
        }
        finally
        {
            rocksdb_sstfilewriter_destroy(writer);
            rocksdb_envoptions_destroy(env);
        }
    }

    /// <summary>Ingests table files with disjoint key ranges in one atomic step.</summary>
    private void IngestFiles(List<string> files)
    {
        var options = rocksdb_ingestexternalfileoptions_create();
        var names = files.Select(f => System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(f)).ToArray();
        try
        {
            rocksdb_ingestexternalfileoptions_set_move_files(options, 1);
            Use(db =>
            {
                fixed (nint* list = names)
                {
                    rocksdb_ingest_external_file(db, (byte**)list, (nuint)names.Length, options, out var err);
                    Check(err);
                }
                return 0;
            });
        }
        finally
        {
            foreach (var n in names) System.Runtime.InteropServices.Marshal.FreeCoTaskMem(n);
            rocksdb_ingestexternalfileoptions_destroy(options);
        }
    }
}
