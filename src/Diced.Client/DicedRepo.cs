using System.Text;
using System.Text.Json;

namespace Diced.Client;

/// <summary>Element types of arrays.</summary>
public enum ArrayDtype { Uint8, Uint16, Uint32, Uint64, Float32 }

/// <summary>A version in a repo's commit log.</summary>
public sealed record VersionInfo(string Uuid, string Note, bool Locked, IReadOnlyList<string> Log);

/// <summary>
/// A repo at one version (DICED's DicedRepo): change version, read the commit log, lock the version, branch from a
/// locked version, and manage its arrays and files. Writes need an open (unlocked) version.
/// </summary>
public sealed class DicedRepo
{
    internal const string MetaInstance = ".meta", FilesInstance = ".files", InstanceMetaPrefix = "array-";
    private static readonly Dictionary<string, ArrayDtype> ArrayTypes = new()
    {
        ["uint8blk"] = ArrayDtype.Uint8, ["uint16blk"] = ArrayDtype.Uint16, ["uint32blk"] = ArrayDtype.Uint32,
        ["uint64blk"] = ArrayDtype.Uint64, ["float32blk"] = ArrayDtype.Float32, ["labelblk"] = ArrayDtype.Uint64, ["labelmap"] = ArrayDtype.Uint64,
        [NdArrayType] = ArrayDtype.Uint8, // the element type is in the instance's info
    };
    private const string NdArrayType = "ndarray";

    private readonly DvidConnection _conn;
    private JsonDocument _info = null!;

    private DicedRepo(DvidConnection conn) => _conn = conn;

    /// <summary>The current version's UUID.</summary>
    public string Uuid { get; private set; } = "";

    /// <summary>Whether the current version is locked (committed): then it is read-only.</summary>
    public bool Locked { get; private set; }

    public string Name => _info.RootElement.GetProperty("Alias").GetString() ?? "";

    public string Root => _info.RootElement.GetProperty("Root").GetString() ?? "";

    internal DvidConnection Connection => _conn;

    internal static async Task<DicedRepo> OpenAsync(DvidConnection conn, string uuid, CancellationToken ct)
    {
        var repo = new DicedRepo(conn);
        await repo.LoadAsync(uuid, ct);
        await repo.EnsureMetaInstancesAsync(ct);
        return repo;
    }

    private async Task LoadAsync(string uuid, CancellationToken ct)
    {
        var info = await _conn.GetJsonAsync($"/api/repo/{uuid}/info", ct);
        var nodes = info.RootElement.GetProperty("DAG").GetProperty("Nodes");
        var matches = nodes.EnumerateObject().Where(n => n.Name.StartsWith(uuid, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count != 1) throw new DicedException(matches.Count == 0 ? $"version {uuid} is not in this repo" : $"version prefix {uuid} is ambiguous");
        _info?.Dispose();
        _info = info;
        Uuid = matches[0].Name;
        Locked = matches[0].Value.GetProperty("Locked").GetBoolean();
    }

    private async Task EnsureMetaInstancesAsync(CancellationToken ct)
    {
        if (Locked) return;
        var instances = _info.RootElement.GetProperty("DataInstances");
        bool created = false;
        foreach (var name in new[] { MetaInstance, FilesInstance })
        {
            if (instances.TryGetProperty(name, out _)) continue;
            using var made = await _conn.PostJsonAsync($"/api/repo/{Uuid}/instance", new { typename = "keyvalue", dataname = name }, ct);
            created = true;
        }
        if (created) await LoadAsync(Uuid, ct);
    }

    /// <summary>Re-reads the repo (after changes made elsewhere).</summary>
    public Task RefreshAsync(CancellationToken ct = default) => LoadAsync(Uuid, ct);

    /// <summary>Moves to another version of the repo (a unique UUID prefix will do).</summary>
    public async Task ChangeVersionAsync(string uuid, CancellationToken ct = default)
    {
        var nodes = _info.RootElement.GetProperty("DAG").GetProperty("Nodes");
        if (!nodes.EnumerateObject().Any(n => n.Name.StartsWith(uuid, StringComparison.OrdinalIgnoreCase)))
        {
            await LoadAsync(Uuid, ct); // a version made since we looked?
            nodes = _info.RootElement.GetProperty("DAG").GetProperty("Nodes");
            if (!nodes.EnumerateObject().Any(n => n.Name.StartsWith(uuid, StringComparison.OrdinalIgnoreCase)))
                throw new DicedException($"version {uuid} is not in repo \"{Name}\"");
        }
        await LoadAsync(uuid, ct);
    }

    /// <summary>The versions from the root to the current one, oldest first.</summary>
    public IReadOnlyList<VersionInfo> CommitLog()
    {
        var nodes = _info.RootElement.GetProperty("DAG").GetProperty("Nodes");
        var byId = nodes.EnumerateObject().ToDictionary(n => n.Value.GetProperty("VersionID").GetInt64(), n => n.Value);
        var chain = new List<VersionInfo>();
        var current = nodes.GetProperty(Uuid);
        while (true)
        {
            chain.Add(new VersionInfo(current.GetProperty("UUID").GetString()!, current.GetProperty("Note").GetString() ?? "", current.GetProperty("Locked").GetBoolean(),
                current.GetProperty("Log").ValueKind == JsonValueKind.Array ? current.GetProperty("Log").EnumerateArray().Select(l => l.GetString() ?? "").ToList() : []));
            var parents = current.GetProperty("Parents");
            if (parents.GetArrayLength() == 0) break;
            current = byId[parents[parents.GetArrayLength() - 1].GetInt64()];
        }
        chain.Reverse();
        return chain;
    }

    /// <summary>Locks (commits) the current version with a message.</summary>
    public async Task LockAsync(string message, CancellationToken ct = default)
    {
        if (Locked) throw new DicedException($"version {Uuid} is already locked");
        using var _ = await _conn.PostJsonAsync($"/api/node/{Uuid}/commit", new { note = message }, ct);
        await LoadAsync(Uuid, ct);
    }

    /// <summary>Creates a child of the current (locked) version and returns its UUID; the repo stays where it is.</summary>
    public async Task<string> CreateBranchAsync(string message, string? branchName = null, CancellationToken ct = default)
    {
        if (!Locked) throw new DicedException($"version {Uuid} must be locked before branching from it");
        object body = branchName is null ? new { note = message } : new { branch = branchName, note = message };
        using var doc = await _conn.PostJsonAsync($"/api/node/{Uuid}/branch", body, ct);
        var child = doc.RootElement.GetProperty("child").GetString()!;
        await LoadAsync(Uuid, ct);
        return child;
    }

    /// <summary>Arrays visible at this version, with their element types.</summary>
    public IReadOnlyList<(string Name, ArrayDtype Dtype)> ListArrays()
        => _info.RootElement.GetProperty("DataInstances").EnumerateObject()
            .Where(i => ArrayTypes.ContainsKey(i.Value.GetProperty("Base").GetProperty("TypeName").GetString() ?? ""))
            .Select(i => (i.Name, DtypeOf(i.Value)))
            .OrderBy(i => i.Name, StringComparer.Ordinal).ToList();

    /// <summary>The element type of an array instance in the repo info.</summary>
    private static ArrayDtype DtypeOf(JsonElement inst)
    {
        var type = inst.GetProperty("Base").GetProperty("TypeName").GetString() ?? "";
        if (type != NdArrayType) return ArrayTypes[type];
        var voxel = inst.GetProperty("Extended").GetProperty("VoxelType").GetString();
        return Enum.TryParse<ArrayDtype>(voxel, ignoreCase: true, out var d) ? d : throw new DicedException($"\"{voxel}\" is not an element type this client knows");
    }

    /// <summary>Every data instance (including non-array ones) with its DVID type name.</summary>
    public IReadOnlyList<(string Name, string TypeName)> ListInstances()
        => _info.RootElement.GetProperty("DataInstances").EnumerateObject()
            .Select(i => (i.Name, i.Value.GetProperty("Base").GetProperty("TypeName").GetString() ?? "")).OrderBy(i => i.Name, StringComparer.Ordinal).ToList();

    private void RequireOpen(string what)
    {
        if (Locked) throw new DicedException($"cannot {what}: version {Uuid} is locked; branch from it to write");
    }

    /// <summary>
    /// Creates an array: <paramref name="dims"/> 1, 2 or 3 (image volumes with blocks of 262144, 512², 64³), a label
    /// array (64-bit, 3-D), lossy JPEG-compressed uint8, or an unbounded n-D array for 4 to 8 dimensions (chunks of 64
    /// along x, y and z, 1 along the others).
    /// </summary>
    public async Task<DicedArray> CreateArrayAsync(string name, ArrayDtype dtype, int dims = 3, bool isLabel = false, bool lossy = false,
        bool versioned = true, CancellationToken ct = default)
    {
        RequireOpen("create an array");
        if (dims is < 1 or > 8) throw new DicedException($"arrays have 1 to 8 dimensions, not {dims}");
        if (isLabel && (dims != 3 || dtype != ArrayDtype.Uint64)) throw new DicedException("label arrays are 3-D uint64");
        if (lossy && (dtype != ArrayDtype.Uint8 || isLabel || dims > 3)) throw new DicedException("lossy (JPEG) compression is for uint8 arrays of up to 3 dimensions");
        if (dims > 3) return await CreateNdAsync(name, dtype, null, Enumerable.Range(0, dims).Select(i => i >= dims - 3 ? 64 : 1).ToArray(), null, versioned, ct);
        RequireNewName(name);
        var type = isLabel ? "labelblk" : dtype switch
        {
            ArrayDtype.Uint8 => "uint8blk", ArrayDtype.Uint16 => "uint16blk", ArrayDtype.Uint32 => "uint32blk", ArrayDtype.Float32 => "float32blk", _ => "uint64blk",
        };
        var block = dims switch { 1 => "262144,1,1", 2 => "512,512,1", _ => "64,64,64" };
        var config = new Dictionary<string, string> { ["typename"] = type, ["dataname"] = name, ["BlockSize"] = block, ["versioned"] = versioned ? "true" : "false" };
        if (lossy) config["Compression"] = "jpeg";
        using (var _ = await _conn.PostJsonAsync($"/api/repo/{Uuid}/instance", config, ct)) { }
        await _conn.PostAsync($"/api/node/{Uuid}/{MetaInstance}/key/{InstanceMetaPrefix}{Uri.EscapeDataString(name)}",
            JsonSerializer.SerializeToUtf8Bytes(new { numdims = dims }), ct);
        await LoadAsync(Uuid, ct);
        return await GetArrayAsync(name, ct);
    }

    /// <summary>
    /// Creates an n-D array (<c>ndarray</c>, 1 to 8 dimensions) of a fixed <paramref name="shape"/>, given like numpy
    /// with the slowest axis first (<c>[16, 256, 256, 256]</c> for t, z, y, x). <paramref name="chunks"/> (same order)
    /// defaults to 64 along the last three axes (at most the shape) and 1 along the others; <paramref name="axisNames"/>
    /// (same order) defaults to …, t, z, y, x.
    /// </summary>
    public Task<DicedArray> CreateArrayAsync(string name, ArrayDtype dtype, int[] shape, int[]? chunks = null, string[]? axisNames = null,
        bool versioned = true, CancellationToken ct = default)
    {
        RequireOpen("create an array");
        if (shape.Length is < 1 or > 8) throw new DicedException($"arrays have 1 to 8 dimensions; the shape has {shape.Length}");
        if (shape.Any(n => n <= 0)) throw new DicedException($"shape {string.Join("x", shape)} must be positive along every axis");
        chunks ??= shape.Select((n, i) => i >= shape.Length - 3 ? Math.Min(n, 64) : 1).ToArray();
        return CreateNdAsync(name, dtype, shape, chunks, axisNames, versioned, ct);
    }

    private async Task<DicedArray> CreateNdAsync(string name, ArrayDtype dtype, int[]? shape, int[] chunks, string[]? axisNames, bool versioned, CancellationToken ct)
    {
        RequireNewName(name);
        int rank = chunks.Length;
        if (chunks.Any(n => n <= 0)) throw new DicedException($"chunks {string.Join("x", chunks)} must be positive along every axis");
        if ((shape is not null && shape.Length != rank) || (axisNames is not null && axisNames.Length != rank))
            throw new DicedException($"give one chunk size{(axisNames is null ? "" : " and axis name")} per axis of the shape ({rank})");
        static string Dvid<T>(IEnumerable<T> indexOrder) => string.Join(",", indexOrder.Reverse());
        var config = new Dictionary<string, string>
        {
            ["typename"] = NdArrayType, ["dataname"] = name, ["VoxelType"] = dtype.ToString().ToLowerInvariant(), ["BlockSize"] = Dvid(chunks),
            ["versioned"] = versioned ? "true" : "false",
        };
        if (shape is not null) config["Shape"] = Dvid(shape);
        if (axisNames is not null) config["AxisNames"] = Dvid(axisNames);
        using (var _ = await _conn.PostJsonAsync($"/api/repo/{Uuid}/instance", config, ct)) { }
        await LoadAsync(Uuid, ct);
        return await GetArrayAsync(name, ct);
    }

    private void RequireNewName(string name)
    {
        if (_info.RootElement.GetProperty("DataInstances").TryGetProperty(name, out _)) throw new DicedException($"an array or instance named \"{name}\" already exists in the repo");
    }

    /// <summary>Opens an array visible at this version.</summary>
    public async Task<DicedArray> GetArrayAsync(string name, CancellationToken ct = default)
    {
        if (!_info.RootElement.GetProperty("DataInstances").TryGetProperty(name, out var inst)) await LoadAsync(Uuid, ct);
        if (!_info.RootElement.GetProperty("DataInstances").TryGetProperty(name, out inst))
            throw new DicedException($"no array named \"{name}\" in repo \"{Name}\" at version {Uuid}");
        var type = inst.GetProperty("Base").GetProperty("TypeName").GetString() ?? "";
        if (!ArrayTypes.ContainsKey(type)) throw new DicedException($"\"{name}\" is a {type}, not an array");
        var dtype = DtypeOf(inst);
        var extended = inst.GetProperty("Extended");
        var blockSize = extended.GetProperty("BlockSize").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (type == NdArrayType)
        {
            var shape = extended.GetProperty("Shape") is { ValueKind: JsonValueKind.Array } sh ? sh.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;
            var names = extended.GetProperty("AxisNames").EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
            return new DicedArray(this, name, dtype, blockSize.Length, false, false, blockSize, isNd: true, shape, names);
        }
        int dims = 3;
        using (var r = await _conn.SendAsync(HttpMethod.Get, $"/api/node/{Uuid}/{MetaInstance}/key/{InstanceMetaPrefix}{Uri.EscapeDataString(name)}", allowNotFound: true, ct: ct))
        {
            if (r.IsSuccessStatusCode)
            {
                using var meta = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
                dims = meta.RootElement.GetProperty("numdims").GetInt32();
            }
        }
        bool lossy = (inst.GetProperty("Base").GetProperty("Compression").GetString() ?? "").Contains("jpeg", StringComparison.OrdinalIgnoreCase);
        return new DicedArray(this, name, dtype, dims, type is "labelblk" or "labelmap", lossy, blockSize);
    }

    /// <summary>Deletes an array from the whole repo (every version; cannot be undone).</summary>
    public async Task DeleteArrayAsync(string name, CancellationToken ct = default)
    {
        await GetArrayAsync(name, ct);
        using (var _ = await _conn.SendAsync(HttpMethod.Delete, $"/api/repo/{Uuid}/{Uri.EscapeDataString(name)}?imsure=true", ct: ct)) { }
        await LoadAsync(Uuid, ct);
    }

    /// <summary>Stores a file in this version under <paramref name="name"/> (a relative path: <c>/</c>-separated, no
    /// empty, <c>.</c> or <c>..</c> parts).</summary>
    public async Task UploadFileAsync(string name, byte[] data, CancellationToken ct = default)
    {
        RequireOpen("upload a file");
        CheckFileName(name);
        await _conn.PostAsync(FilePath(name), data, ct);
    }

    public Task UploadFileAsync(string name, string text, CancellationToken ct = default) => UploadFileAsync(name, Encoding.UTF8.GetBytes(text), ct);

    /// <summary>Stores a file from a stream, sent as it is read (large files are never held in memory whole);
    /// <paramref name="length"/>, when known, is sent as the body's length.</summary>
    public async Task UploadFileAsync(string name, Stream content, long? length = null, CancellationToken ct = default)
    {
        RequireOpen("upload a file");
        CheckFileName(name);
        using var body = new StreamContent(content, 1 << 20);
        body.Headers.ContentLength = length;
        using var _ = await _conn.SendAsync(HttpMethod.Post, FilePath(name), body, ct: ct);
    }

    /// <summary>A file's bytes as stored in this version (or inherited from an ancestor).</summary>
    public async Task<byte[]> DownloadFileAsync(string name, CancellationToken ct = default)
    {
        var buffer = new MemoryStream();
        await DownloadFileAsync(name, buffer, ct);
        return buffer.ToArray();
    }

    /// <summary>Copies a file's bytes into <paramref name="destination"/> as they arrive.</summary>
    public async Task DownloadFileAsync(string name, Stream destination, CancellationToken ct = default)
    {
        CheckFileName(name);
        using var r = await _conn.SendAsync(HttpMethod.Get, FilePath(name), allowNotFound: true, ct: ct);
        if (!r.IsSuccessStatusCode) throw new DicedException($"no file named \"{name}\" at version {Uuid}");
        await r.Content.CopyToAsync(destination, ct);
    }

    public async Task<IReadOnlyList<string>> ListFilesAsync(CancellationToken ct = default)
    {
        using var doc = await _conn.GetJsonAsync($"/api/node/{Uuid}/{FilesInstance}/keys", ct);
        return doc.RootElement.EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    public async Task DeleteFileAsync(string name, CancellationToken ct = default)
    {
        RequireOpen("delete a file");
        CheckFileName(name);
        using var _ = await _conn.SendAsync(HttpMethod.Delete, FilePath(name), ct: ct);
    }

    private string FilePath(string name) => $"/api/node/{Uuid}/{FilesInstance}/key/{Uri.EscapeDataString(name)}";

    /// <summary>File names are relative paths: a stored name never points outside the directory it is fetched into.</summary>
    public static void CheckFileName(string name)
    {
        var parts = name.Split('/');
        if (name.Length == 0 || name.Contains('\\') || name.Contains('\0') || parts.Any(p => p is "" or "." or ".."))
            throw new DicedException($"file name \"{name}\" must be a relative path: '/'-separated, without empty, '.' or '..' parts or backslashes");
    }

    internal JsonElement InstanceInfo(string name) => _info.RootElement.GetProperty("DataInstances").GetProperty(name);
}
