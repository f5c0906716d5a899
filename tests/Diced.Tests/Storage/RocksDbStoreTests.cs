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
}
