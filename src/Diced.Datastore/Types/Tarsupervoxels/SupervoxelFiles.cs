using System.Buffers.Binary;
using System.Globalization;
using Diced.Codecs;
using Diced.Datastore.Types.Labels;
using Diced.Datastore.Versioning;

namespace Diced.Datastore.Types.Tarsupervoxels;

/// <summary>
/// A tarsupervoxels instance at one version: a file per supervoxel, and a body's files through the synced labelmap's
/// mapping at the same version.
/// </summary>
public sealed class SupervoxelFiles(VersionedData data, Func<LabelVolume?> labels)
{
    private const byte FileClass = 133; // DVID's tarsupervoxels key class (DVID keys by file name; Diced by id)

    private readonly CompressionSpec _compression = CompressionSpec.Parse(data.Instance.Compression);

    public string Extension => data.Instance.Settings.GetValueOrDefault(TarsupervoxelsType.ExtensionKey, "dat");

    private static byte[] Key(ulong sv)
    {
        var k = new byte[9];
        k[0] = FileClass;
        BinaryPrimitives.WriteUInt64BigEndian(k.AsSpan(1), sv);
        return k;
    }

    private static void CheckId(ulong sv)
    {
        if (sv == 0) throw DatastoreException.BadRequest("Supervoxel 0 is protected background value and cannot be used");
    }

    /// <summary>The file of <paramref name="sv"/>, or null when none.</summary>
    public async Task<byte[]?> GetAsync(ulong sv, CancellationToken ct = default)
    {
        CheckId(sv);
        return await data.GetAsync(Key(sv), ct) is { } stored ? Decode(stored) : null;
    }

    public Task PutAsync(ulong sv, ReadOnlyMemory<byte> file, CancellationToken ct = default)
    {
        CheckId(sv);
        return LoadAsync([(sv, file)], ct);
    }

    public Task DeleteAsync(ulong sv, CancellationToken ct = default)
    {
        CheckId(sv);
        return data.WriteAsync(tx => { tx.Delete(Key(sv)); return Task.FromResult(0); }, ct);
    }

    /// <summary>Stores every file in one commit (all or none).</summary>
    public Task LoadAsync(IReadOnlyList<(ulong Supervoxel, ReadOnlyMemory<byte> File)> files, CancellationToken ct = default)
    {
        foreach (var (sv, _) in files)
            if (sv == 0) throw DatastoreException.BadRequest("supervoxel 0 is reserved and cannot have data saved under 0 id");
        var encoded = files.Select(f => (Key(f.Supervoxel), Encode(f.File.Span))).ToList();
        return data.WriteAsync(tx =>
        {
            foreach (var (k, v) in encoded) tx.Put(k, v);
            return Task.FromResult(0);
        }, ct);
    }

    /// <summary>Whether each supervoxel has a file, in the order asked.</summary>
    public async Task<bool[]> ExistAsync(IReadOnlyList<ulong> svs, CancellationToken ct = default)
    {
        var found = new bool[svs.Count];
        for (int i = 0; i < svs.Count; i++) found[i] = svs[i] != 0 && await data.ExistsAsync(Key(svs[i]), ct);
        return found;
    }

    /// <summary>
    /// The supervoxels of body <paramref name="body"/> at this version, ascending, each with whether it has a file.
    /// Throws a 400 when the body has none (merged away, or never existed), as DVID.
    /// </summary>
    public async Task<List<(ulong Supervoxel, bool HasFile)>> BodyAsync(ulong body, CancellationToken ct = default)
    {
        if (body == 0) throw DatastoreException.BadRequest("Label 0 is protected background value and cannot be used");
        var vol = labels() ?? throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" is not synced with any labelmap instance");
        var idx = await vol.GetIndexAsync(body, ct);
        var svs = idx?.Supervoxels().Order().ToList() ?? [];
        if (svs.Count == 0) throw DatastoreException.BadRequest($"label {body} has no supervoxels");
        var result = new List<(ulong, bool)>(svs.Count);
        foreach (var sv in svs) result.Add((sv, await data.ExistsAsync(Key(sv), ct)));
        return result;
    }

    /// <summary>Parses a tar member name <c>{supervoxel}.{extension}</c> (DVID's rule); <paramref name="index"/> counts from 1.</summary>
    public ulong ParseMemberName(string name, int index)
    {
        int dot = name.IndexOf('.');
        if (dot <= 0 || !ulong.TryParse(name.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var sv))
            throw DatastoreException.BadRequest($"file {index} name is invalid, expect supervoxel+ext: {name}");
        if (name[(dot + 1)..] != Extension)
            throw DatastoreException.BadRequest($"file {index} name has bad extension (expect \"{Extension}\"): {name}");
        return sv;
    }

    private byte[] Encode(ReadOnlySpan<byte> file) => file.IsEmpty ? [0] : ValueEnvelope.Encode(file, _compression, data.Instance.Checksum);

    private static byte[] Decode(byte[] stored)
    {
        try { return ValueEnvelope.Decode(stored); }
        catch (InvalidDataException e) { throw new DatastoreException($"stored file is corrupt: {e.Message}", ErrorKind.BadRequest, e); }
    }
}
