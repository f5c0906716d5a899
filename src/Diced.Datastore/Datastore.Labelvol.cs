using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Types.Labelvol;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>labelvol instances: views of the label index of the labelblk they sync with (see <see cref="LabelvolType"/>).</summary>
public sealed partial class Datastore
{
    /// <summary>A labelblk with more stored blocks than this is not indexed after the fact: sync its labelvol first.</summary>
    public const int MaxBlocksIndexedOnSync = 1 << 16;

    /// <summary>The labelblk that <paramref name="labelvol"/> views, at the same version, as a label volume.</summary>
    public LabelVolume LabelvolSourceOf(VersionedData labelvol, MutationContext? context = null)
    {
        var name = SyncedLabelblk(labelvol.Repo.State, labelvol.Instance)
            ?? throw DatastoreException.BadRequest($"labelvol \"{labelvol.Instance.Name}\" is not synced with a labelblk; POST {{\"sync\": \"<labelblk name>\"}} to its sync endpoint");
        var blk = labelvol.Repo.State.Instances[name];
        return LabelVolumeOf(labelvol.Sibling(Stores.Of(blk), blk), context);
    }

    /// <summary>The labelblk a labelvol syncs with, or that syncs with it.</summary>
    private static string? SyncedLabelblk(RepoRecord state, InstanceRecord labelvol)
        => labelvol.Syncs.FirstOrDefault(s => state.Instances.TryGetValue(s, out var i) && i.TypeName == "labelblk")
           ?? state.Instances.Values.Where(i => i.TypeName == "labelblk" && i.Syncs.Contains(labelvol.Name)).Select(i => i.Name).Order().FirstOrDefault();

    /// <summary>
    /// DVID's <c>POST …/sync</c> (see <see cref="SetSyncsAsync"/>), and when the change links a labelvol with a labelblk,
    /// the labelblk starts keeping a label index, built at once from the blocks it already holds at <paramref name="at"/>.
    /// </summary>
    public async Task<InstanceRecord> SyncAsync(VersionRef at, string name, IReadOnlyList<string> syncs, bool replace, CancellationToken ct = default)
    {
        var state = at.Repo.State;
        var inst = GetInstance(at, name);
        var labelblks = inst.TypeName switch
        {
            "labelvol" => syncs.Where(s => state.Instances.TryGetValue(s, out var i) && i.TypeName == "labelblk").ToList(),
            "labelblk" when syncs.Any(s => state.Instances.TryGetValue(s, out var i) && i.TypeName == "labelvol") => [name],
            _ => [],
        };
        var toIndex = new List<(LabelVolume Labels, int Blocks)>();
        foreach (var blkName in labelblks.Distinct())
        {
            var blk = state.Instances[blkName];
            var labelvol = inst.TypeName == "labelvol" ? inst : state.Instances[syncs.First(s => state.Instances.TryGetValue(s, out var i) && i.TypeName == "labelvol")];
            if (labelvol.Settings[ImageSettings.BlockSizeKey] != blk.Settings[ImageSettings.BlockSizeKey])
                throw DatastoreException.BadRequest($"labelvol \"{labelvol.Name}\" (BlockSize {labelvol.Settings["blocksize"]}) and labelblk \"{blk.Name}\" (BlockSize {blk.Settings["blocksize"]}) must have the same block size");
            if (blk.Settings.GetValueOrDefault(LabelType.IndexedKey) == "true") continue;
            var labels = LabelVolumeOf(DataAt(at, blk));
            int blocks = await labels.CountStoredBlocksAsync(MaxBlocksIndexedOnSync + 1, ct);
            if (blocks > MaxBlocksIndexedOnSync)
                throw DatastoreException.BadRequest($"labelblk \"{blk.Name}\" already holds more than {MaxBlocksIndexedOnSync} blocks; sync the labelvol before writing labels");
            if (blocks > 0 && at.Node.Locked)
                throw DatastoreException.BadRequest($"labelblk \"{blk.Name}\" holds labels at locked node {at.Node.Uuid}; make the sync at an unlocked node so that its label index can be written");
            toIndex.Add((labels, blocks));
        }
        var follow = await PrepareFollowerSyncAsync(at, inst, syncs, ct);
        var record = await SetSyncsAsync(at.Repo, name, syncs, replace, ct);
        foreach (var (labels, blocks) in toIndex)
        {
            var blk = await UpdateInstanceAsync(at.Repo, labels.Data.Instance.Name,
                r => r with { Settings = r.Settings.SetItem(LabelType.IndexedKey, "true") }, ct);
            if (blocks > 0) await LabelVolumeOf(DataAt(at, blk)).IndexStoredBlocksAsync(ct);
        }
        if (follow is not null) await follow();
        return record;
    }
}
