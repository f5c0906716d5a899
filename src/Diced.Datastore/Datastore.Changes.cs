using System.Buffers.Binary;
using Diced.Datastore.Versioning;
using Diced.Storage;
using Microsoft.Extensions.Logging;

namespace Diced.Datastore;

/// <summary>What versions changed: the change records every commit writes (<see cref="DataKeys.NewChange"/>), read
/// for diffs, merges and pruning, and made once for data written before they existed.</summary>
public sealed partial class Datastore
{
    private const string ChangesReadyFlag = "changes-v1";

    /// <summary>Type keys per change record when records are made for older data.</summary>
    private const int BackfillKeysPerRecord = 50_000;

    /// <summary>The type keys <paramref name="instance"/> wrote or deleted at any of <paramref name="versions"/>.</summary>
    public async Task<HashSet<byte[]>> ChangedKeysAsync(InstanceRecord instance, IEnumerable<uint> versions, CancellationToken ct = default)
    {
        var store = Stores.Of(instance);
        var keys = new HashSet<byte[]>(ByteArrayEquality.Instance);
        foreach (var v in versions.Distinct())
        {
            var prefix = DataKeys.ChangesAt(instance.InstanceId, v);
            await foreach (var kv in store.ScanAsync(prefix, KeyOrder.PrefixEnd(prefix), false, ct))
                foreach (var k in ChangeRecords.Decode(kv.Value)) keys.Add(k);
        }
        return keys;
    }

    /// <summary>
    /// Stores opened for the first time by a server that keeps change records get records for the data they already
    /// hold (one scan of the data keys, once; a flag marks it done). Duplicate records are harmless.
    /// </summary>
    private async Task BackfillChangesAsync(CancellationToken ct)
    {
        foreach (var store in Stores.Named.Values.Prepend(Stores.Main).Distinct())
        {
            var flag = DataKeys.Metadata(ChangesReadyFlag);
            if (await store.GetAsync(flag, ct) is not null) continue;
            var pending = new Dictionary<(uint Instance, uint Version), List<byte[]>>();
            int count = 0, records = 0;
            async Task FlushAsync()
            {
                var batch = new WriteBatch();
                foreach (var ((inst, v), keys) in pending) batch.PutOwned(DataKeys.NewChange(inst, v), ChangeRecords.Encode(keys));
                if (pending.Count > 0) await store.WriteAsync(batch, ct);
                records += pending.Count;
                pending.Clear();
                count = 0;
            }
            await foreach (var kv in store.ScanAsync(new[] { DataKeys.DataPrefix }, new[] { (byte)(DataKeys.DataPrefix + 1) }, keysOnly: true, ct))
            {
                var id = (BinaryPrimitives.ReadUInt32BigEndian(kv.Key.AsSpan(1)), DataKeys.VersionOf(kv.Key));
                if (!pending.TryGetValue(id, out var list)) pending[id] = list = [];
                list.Add(DataKeys.TypeKeyOf(kv.Key).ToArray());
                if (++count >= BackfillKeysPerRecord) await FlushAsync();
            }
            await FlushAsync();
            await store.PutAsync(flag, new byte[] { 1 }, ct);
            if (records > 0) _log.LogInformation("Recorded the changes of {Records} (instance, version) groups already in {Store}", records, store.Description);
        }
    }
}
