using System.Runtime.InteropServices;

namespace Diced.Storage;

/// <summary>
/// The few functions of RocksDB's C API that Diced uses, bound at compile time. (The RocksDB package's own
/// managed wrapper binds its whole API by reflection at first use, which costs about half a second of start-up.)
/// The native library is the one the RocksDB NuGet package ships.
/// </summary>
internal static partial class RocksDbNative
{
    private const string Lib = "librocksdb";

    [LibraryImport(Lib)] public static partial nint rocksdb_options_create();
    [LibraryImport(Lib)] public static partial void rocksdb_options_destroy(nint o);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_create_if_missing(nint o, byte v);
    [LibraryImport(Lib)] public static partial void rocksdb_options_increase_parallelism(nint o, int threads);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_compression(nint o, int compression);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_write_buffer_size(nint o, nuint size);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_max_background_jobs(nint o, int jobs);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_keep_log_file_num(nint o, nuint n);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_block_based_table_factory(nint o, nint tableOptions);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_max_write_buffer_number(nint o, int n);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_enable_blob_files(nint o, byte v);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_min_blob_size(nint o, ulong size);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_blob_file_size(nint o, ulong size);
    [LibraryImport(Lib)] public static partial void rocksdb_options_set_enable_blob_gc(nint o, byte v);

    [LibraryImport(Lib)] public static partial nint rocksdb_block_based_options_create();
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_destroy(nint o);
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_set_block_cache(nint o, nint cache);
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_set_filter_policy(nint o, nint policy);
    [LibraryImport(Lib)] public static partial void rocksdb_block_based_options_set_block_size(nint o, nuint size);
    [LibraryImport(Lib)] public static partial nint rocksdb_cache_create_lru(nuint capacity);
    [LibraryImport(Lib)] public static partial void rocksdb_options_enable_statistics(nint o);
    [LibraryImport(Lib)] public static partial ulong rocksdb_options_statistics_get_ticker_count(nint o, uint ticker);
    [LibraryImport(Lib)] public static partial void rocksdb_cache_destroy(nint cache);
    [LibraryImport(Lib)] public static partial nint rocksdb_filterpolicy_create_bloom(double bitsPerKey);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial nint rocksdb_open(nint options, string path, out nint err);
    [LibraryImport(Lib)] public static partial void rocksdb_close(nint db);

    [LibraryImport(Lib)] public static partial nint rocksdb_writeoptions_create();
    [LibraryImport(Lib)] public static partial void rocksdb_writeoptions_destroy(nint o);
    [LibraryImport(Lib)] public static partial void rocksdb_writeoptions_set_sync(nint o, byte v);
    [LibraryImport(Lib)] public static partial nint rocksdb_readoptions_create();
    [LibraryImport(Lib)] public static partial void rocksdb_readoptions_destroy(nint o);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_readoptions_set_iterate_upper_bound(nint o, byte* key, nuint keyLen);
    [LibraryImport(Lib)] public static partial void rocksdb_readoptions_set_snapshot(nint o, nint snapshot);
    [LibraryImport(Lib)] public static partial nint rocksdb_create_snapshot(nint db);
    [LibraryImport(Lib)] public static partial void rocksdb_release_snapshot(nint db, nint snapshot);

    [LibraryImport(Lib)] public static unsafe partial void rocksdb_put(nint db, nint writeOptions, byte* key, nuint keyLen, byte* val, nuint valLen, out nint err);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_delete(nint db, nint writeOptions, byte* key, nuint keyLen, out nint err);
    [LibraryImport(Lib)] public static unsafe partial nint rocksdb_get_pinned(nint db, nint readOptions, byte* key, nuint keyLen, out nint err);
    [LibraryImport(Lib)] public static unsafe partial byte* rocksdb_pinnableslice_value(nint slice, out nuint len);
    [LibraryImport(Lib)] public static partial void rocksdb_pinnableslice_destroy(nint slice);

    [LibraryImport(Lib)] public static partial nint rocksdb_envoptions_create();
    [LibraryImport(Lib)] public static partial void rocksdb_envoptions_destroy(nint o);
    [LibraryImport(Lib)] public static partial nint rocksdb_sstfilewriter_create(nint envOptions, nint options);
    [LibraryImport(Lib)] public static partial void rocksdb_sstfilewriter_destroy(nint w);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial void rocksdb_sstfilewriter_open(nint w, string path, out nint err);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_sstfilewriter_put(nint w, byte* key, nuint keyLen, byte* val, nuint valLen, out nint err);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_sstfilewriter_delete(nint w, byte* key, nuint keyLen, out nint err);
    [LibraryImport(Lib)] public static partial void rocksdb_sstfilewriter_finish(nint w, out nint err);
    [LibraryImport(Lib)] public static partial nint rocksdb_ingestexternalfileoptions_create();
    [LibraryImport(Lib)] public static partial void rocksdb_ingestexternalfileoptions_destroy(nint o);
    [LibraryImport(Lib)] public static partial void rocksdb_ingestexternalfileoptions_set_move_files(nint o, byte v);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_ingest_external_file(nint db, byte** files, nuint count, nint options, out nint err);

    [LibraryImport(Lib)] public static partial nint rocksdb_writebatch_create();
    [LibraryImport(Lib)] public static partial void rocksdb_writebatch_destroy(nint b);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_writebatch_put(nint b, byte* key, nuint keyLen, byte* val, nuint valLen);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_writebatch_delete(nint b, byte* key, nuint keyLen);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_writebatch_delete_range(nint b, byte* start, nuint startLen, byte* end, nuint endLen);
    [LibraryImport(Lib)] public static partial void rocksdb_write(nint db, nint writeOptions, nint batch, out nint err);

    [LibraryImport(Lib)] public static partial nint rocksdb_create_iterator(nint db, nint readOptions);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_destroy(nint it);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_iter_seek(nint it, byte* key, nuint keyLen);
    [LibraryImport(Lib)] public static partial byte rocksdb_iter_valid(nint it);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_next(nint it);
    [LibraryImport(Lib)] public static unsafe partial byte* rocksdb_iter_key(nint it, out nuint len);
    [LibraryImport(Lib)] public static unsafe partial byte* rocksdb_iter_value(nint it, out nuint len);
    [LibraryImport(Lib)] public static partial void rocksdb_iter_get_error(nint it, out nint err);

    [LibraryImport(Lib)] public static partial void rocksdb_free(nint p);
    [LibraryImport(Lib)] public static unsafe partial void rocksdb_compact_range(nint db, byte* start, nuint startLen, byte* limit, nuint limitLen);

    /// <summary>Throws if a C API call reported an error (and frees the message).</summary>
    public static void Check(nint err)
    {
        if (err == 0) return;
        var message = Marshal.PtrToStringUTF8(err) ?? "unknown RocksDB error";
        rocksdb_free(err);
        throw new IOException($"RocksDB: {message}");
    }
}
