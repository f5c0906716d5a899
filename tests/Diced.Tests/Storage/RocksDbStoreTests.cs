using Diced.Storage;
using Diced.Tests.Infrastructure;

namespace Diced.Tests.Storage;

public class RocksDbStoreTests : KeyValueStoreContract
{
    protected override Task<IKeyValueStore> OpenAsync(string location) => Task.FromResult<IKeyValueStore>(new RocksDbKeyValueStore(location));
    protected override bool Persistent => true;

    /// <summary>A large batch is written once, as an ingested table file, not through the write-ahead log; a table file a
    /// killed process left half-written is removed at the next open and never becomes data.</summary>
    [Fact]
    public async Task Large_batches_skip_the_log_and_leftovers_of_a_crash_are_removed()
    {
        var dir = TempDir.Create("kvc");
        try
        {
            await using (var s = new RocksDbKeyValueStore(dir))
            {
                var batch = new WriteBatch();
                for (byte i = 0; i < 32; i++) batch.Put([7, i], new byte[256 * 1024]);
                await s.WriteAsync(batch);
            }
            long logBytes = Directory.GetFiles(dir, "*.log").Sum(f => new FileInfo(f).Length);
            Assert.True(logBytes < 1 << 20, $"the write-ahead log holds {logBytes} bytes after an 8 MiB batch");
            var staging = Path.Combine(dir, "ingest-staging");
            Assert.Empty(Directory.Exists(staging) ? Directory.GetFiles(staging) : []);
            Directory.CreateDirectory(staging);
            await File.WriteAllBytesAsync(Path.Combine(staging, "1234-1.sst"), new byte[4096]);
            await using (var s = new RocksDbKeyValueStore(dir))
            {
                Assert.Equal(32, await s.ScanAsync(new byte[] { 7 }, new byte[] { 8 }, keysOnly: true).CountAsync());
                Assert.False(Directory.Exists(staging));
            }
        }
        finally { TempDir.Delete(dir); }
    }

    /// <summary>Regression: a commit's extents (data keys) and its change record (the next key space) shared a table
    /// file whose range covered every later instance's keys, so their bulk files stacked up in level 0 (POST raw ~20%
    /// slower). Table files never span two key spaces, and bulk values never share a file with small ones.</summary>
    [Fact]
    public void Table_files_of_a_batch_never_span_two_key_spaces()
    {
        var ops = new List<(byte[] Key, byte[]? Value)>();
        for (byte i = 0; i < 4; i++)
        {
            ops.Add(([1, 0, 23, i, 3], new byte[32 * 1024]));  // a block
            ops.Add(([1, 0, 23, i, 0x4F], null));             // its tombstone cleared
        }
        ops.Add(([1, 0, 24, 3], new byte[40]));                // extents
        ops.Add(([2, 0, 0, 1], new byte[30]));                 // the change record
        var segments = RocksDbKeyValueStore.Segments(ops);
        Assert.Equal([(0, 8), (8, 1), (9, 1)], segments);
    }
}
