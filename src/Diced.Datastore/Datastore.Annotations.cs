using Diced.Datastore.Types.Annotation;
using Diced.Datastore.Types.ImageBlock;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Types.Labelsz;
using Diced.Datastore.Types.Roi;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>
/// Annotations and labelsz at a version, wired to what they follow: an annotation to the label instance it syncs with
/// (it follows that volume's changes; labelvol gives its labelblk), a labelsz to the annotation it syncs with.
/// </summary>
public sealed partial class Datastore
{
    private static readonly string[] LabelTypes = ["labelmap", "labelarray", "labelblk", "labelvol"];

    /// <summary>An annotation instance at a version; changes made through it are recorded as <paramref name="context"/>'s.</summary>
    public Annotations AnnotationsOf(VersionedData data, MutationContext? context = null)
    {
        if (data.Instance.TypeName != "annotation") throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" is not an annotation instance");
        var state = data.Repo.State;
        return new Annotations(data, Coordination,
            () => data.Instance.Syncs.Select(s => state.Instances.GetValueOrDefault(s)).FirstOrDefault(i => i is not null && LabelTypes.Contains(i.TypeName)) is { } labels
                ? LabelVolumeOf(data.Sibling(Stores.Of(labels), labels))
                : null,
            () => [.. state.Instances.Values.Where(i => i.TypeName == "labelsz" && i.Syncs.Contains(data.Instance.Name)).OrderBy(i => i.Name, StringComparer.Ordinal)
                .Select(i => LabelSizesOf(data.Sibling(Stores.Of(i), i)))],
            context);
    }

    /// <summary>A labelsz instance at a version.</summary>
    public LabelSizes LabelSizesOf(VersionedData data)
    {
        if (data.Instance.TypeName != "labelsz") throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" is not a labelsz instance");
        var spec = data.Instance.Settings.GetValueOrDefault(LabelszType.RoiKey, "");
        return new LabelSizes(data, Coordination, async ct =>
        {
            if (spec.Length == 0) return null;
            var parts = spec.Split(',');
            var at = Resolve(parts[1].Trim());
            if (!at.Repo.State.Instances.TryGetValue(parts[0].Trim(), out var roi) || roi.TypeName != "roi")
                throw DatastoreException.BadRequest($"labelsz \"{data.Instance.Name}\" counts inside ROI \"{spec}\", which is not an roi instance");
            return await new RoiData(DataAt(at, roi)).IndexAsync(ct);
        });
    }

    /// <summary>What follows the label instance of <paramref name="labels"/>: the mesh cache, and the annotations synced to it (directly, or through a labelvol viewing it).</summary>
    private Func<IReadOnlyList<ILabelFollower>> FollowersOf(VersionedData labels)
        => () =>
        {
            var state = labels.Repo.State;
            var names = new HashSet<string>(StringComparer.Ordinal) { labels.Instance.Name };
            if (labels.Instance.TypeName == "labelblk")
                foreach (var lv in state.Instances.Values.Where(i => i.TypeName == "labelvol" && SyncedLabelblk(state, i) == labels.Instance.Name))
                    names.Add(lv.Name);
            return [MeshFollowerOf(labels), .. state.Instances.Values
                .Where(i => i.TypeName == "annotation" && i.Syncs.Select(s => state.Instances.GetValueOrDefault(s)).FirstOrDefault(t => t is not null && LabelTypes.Contains(t.TypeName)) is { } t && names.Contains(t.Name))
                .OrderBy(i => i.Name, StringComparer.Ordinal)
                .Select(i => (ILabelFollower)AnnotationsOf(labels.Sibling(Stores.Of(i), i)))];
        };

    /// <summary>labelsz <c>reload</c>: recounts from the synced annotation's label lists, under its change turn, in one commit.</summary>
    public async Task ReloadLabelSizesAsync(VersionedData data, CancellationToken ct = default)
    {
        var sizes = LabelSizesOf(data);
        var state = data.Repo.State;
        var source = data.Instance.Syncs.Select(s => state.Instances.GetValueOrDefault(s)).FirstOrDefault(i => i?.TypeName == "annotation")
            ?? throw DatastoreException.BadRequest($"labelsz \"{data.Instance.Name}\" is not synced with an annotation instance");
        var annotations = AnnotationsOf(data.Sibling(Stores.Of(source), source));
        using var turn = await annotations.TurnAsync(ct);
        await data.WriteAsync(async tx => { await sizes.RebuildAsync(tx, annotations.LabelRecordsAsync(ct), ct); return 0; }, ct, sizes.Stamp);
    }

    /// <summary>
    /// Checks an annotation's or labelsz's new syncs before they are recorded: same store and versioning (their changes
    /// commit together), and an annotation takes its labels' block size (refused once it holds elements of another size).
    /// Returns what to do once recorded.
    /// </summary>
    private async Task<Func<Task>?> PrepareFollowerSyncAsync(VersionRef at, InstanceRecord inst, IReadOnlyList<string> syncs, CancellationToken ct)
    {
        var state = at.Repo.State;
        var targets = syncs.Select(s => state.Instances.GetValueOrDefault(s)).Where(t => t is not null).Select(t => t!).ToList();
        foreach (var t in targets)
        {
            if (!ReferenceEquals(Stores.Of(t), Stores.Of(inst)))
                throw DatastoreException.BadRequest($"data \"{inst.Name}\" and \"{t.Name}\" are kept in different stores; instances that follow each other must share one store");
            if (t.Versioned != inst.Versioned)
                throw DatastoreException.BadRequest($"data \"{inst.Name}\" and \"{t.Name}\" must both be versioned or both unversioned to sync");
        }
        if (inst.TypeName == "labelsz")
            return targets.Any(t => t.TypeName == "annotation") ? () => ReloadLabelSizesAsync(DataAt(at, at.Repo.State.Instances[inst.Name]), ct) : null;
        if (inst.TypeName != "annotation") return null;
        var labels = targets.FirstOrDefault(t => LabelTypes.Contains(t.TypeName));
        if (labels is null) return null;
        var labelInst = labels.TypeName == "labelvol" && SyncedLabelblk(state, labels) is { } blk ? state.Instances[blk] : labels;
        var blockSize = labelInst.Settings[ImageSettings.BlockSizeKey];
        bool hasElements = await AnnotationsOf(DataAt(at, inst)).CountBlocksAsync(ct) > 0;
        bool resize = blockSize != inst.Settings[ImageSettings.BlockSizeKey];
        if (resize && hasElements)
            throw DatastoreException.BadRequest($"annotation \"{inst.Name}\" holds elements in blocks of {inst.Settings[ImageSettings.BlockSizeKey]}; it can only sync with labels of that block size (\"{labels.Name}\" has {blockSize})");
        if (hasElements && at.Node.Locked)
            throw DatastoreException.BadRequest($"annotation \"{inst.Name}\" holds elements at locked node {at.Node.Uuid}; make the sync at an unlocked node so that they can be labelled");
        return async () =>
        {
            if (resize) await UpdateInstanceAsync(at.Repo, inst.Name, r => r with { Settings = r.Settings.SetItem(ImageSettings.BlockSizeKey, blockSize) }, ct);
            if (hasElements) await AnnotationsOf(DataAt(at, at.Repo.State.Instances[inst.Name])).ReloadAsync(ct);
        };
    }
}
