namespace Diced.Server;

/// <summary>Server settings: section <c>Diced</c> of appsettings.json, overridable on the command line.</summary>
public sealed class DicedOptions
{
    /// <summary>Store location (<c>--data</c>): a directory for the embedded store, or <c>s3://bucket/prefix</c>.</summary>
    public string Data { get; set; } = "./data";

    /// <summary>More stores for instance data, by name: a directory, <c>s3://…</c> or <c>gs://…</c> (DVID's <c>[store]</c>).</summary>
    public Dictionary<string, string> Stores { get; set; } = new();

    /// <summary>Which instances use which store (DVID's <c>[backend]</c>): keys are a data type name (<c>uint8blk</c>) or
    /// <c>&lt;repo root uuid&gt;/&lt;instance name&gt;</c>; values name a store of <see cref="Stores"/> or <c>default</c>
    /// (the <see cref="Data"/> store). Decided when an instance is created.</summary>
    public Dictionary<string, string> Backend { get; set; } = new();

    /// <summary>S3 settings used when <see cref="Data"/> is an <c>s3://</c> location.</summary>
    public S3Settings S3 { get; set; } = new();

    /// <summary>GCS settings used when <see cref="Data"/> is a <c>gs://</c> location.</summary>
    public GcsSettings Gcs { get; set; } = new();

    /// <summary>fsync every write to the embedded store (power-loss durability); process crashes lose nothing either way.</summary>
    public bool SyncWrites { get; set; }

    /// <summary>Batches of at least this many bytes (volume slabs) are written to the embedded store as ingested table
    /// files: once, fsynced, atomic; smaller ones go through its write-ahead log. 0 sends everything through the log.</summary>
    public long IngestBatchBytes { get; set; } = new Storage.RocksDbOptions().IngestBatchBytes;

    /// <summary>Whether every labelmap and labelarray gets a generated <c>{name}_meshes</c> instance Neuroglancer draws meshes from.</summary>
    public bool GeneratedMeshes { get; set; } = true;

    /// <summary>Log format: <c>text</c> (default) or <c>json</c> (<c>--log-format json</c>), one compact JSON object per event.</summary>
    public string LogFormat { get; set; } = "text";

    /// <summary>Authentication and roles (<c>Diced:Auth</c>): off by default.</summary>
    public Auth.AuthSettings Auth { get; set; } = new();

    /// <summary>Largest request body for one keyvalue value or batch, in bytes.</summary>
    public long MaxValueBytes { get; set; } = 1L << 30;

    /// <summary>Largest JSON or protobuf request body other than voxel data, in bytes.</summary>
    public long MaxJsonBytes { get; set; } = 64L << 20;

    /// <summary>Largest voxel request (bytes of voxels) for one GET or POST; DVID's MaxDataRequest.</summary>
    public long MaxDataRequestBytes { get; set; } = 3L << 30;

    /// <summary>Voxel POST bodies up to this size are read whole before anything is stored; larger ones are stored slab by slab.</summary>
    public long MaxBufferedWriteBytes { get; set; } = 256L << 20;

    /// <summary>Request bodies read whole may hold at most this many bytes at once, server-wide; beyond it requests get
    /// 503 with Retry-After (bodies larger than this alone get 413).</summary>
    public long MaxBufferedBodyBytes { get; set; } = 1L << 30;

    /// <summary>Concurrent <c>throttle=on</c> operations before 503 (DVID's maxThrottledOps).</summary>
    public int MaxThrottledOps { get; set; } = 1;

    /// <summary>Web origins that may read (GET, HEAD) through CORS; <c>*</c> allows any (the default). Empty disables CORS
    /// headers. Configured as a list, or as one comma-separated value (<c>""</c> or <c>none</c> for empty).</summary>
    public string[] CorsOrigins { get; set; } = ["*"];

    /// <summary>Web origins that may also change data (POST, PUT, DELETE) from a browser; none by default, and writes
    /// whose <c>Origin</c> names any other site are refused.</summary>
    public string[] CorsWriteOrigins { get; set; } = [];

    /// <summary>Free text returned by <c>/api/server/note</c> and in server info.</summary>
    public string Note { get; set; } = "";

    /// <summary>The DVID TOML the server was started from (server info's "TOML location"); set by <c>diced serve</c>.</summary>
    public string TomlLocation { get; set; } = "";

    /// <summary>Require admin privilege for <c>POST /api/repos</c>, as DVID does since 2026-06 (off: the historical behaviour clients expect).</summary>
    public bool RequireAdminToCreateRepos { get; set; }

    /// <summary>Enables labelmap's <c>POST …/split/{label}</c> (DVID's <c>[server] allowLabelmapSplit</c>; off as in DVID).</summary>
    public bool AllowLabelmapSplit { get; set; }

    /// <summary>DVID's <c>-readonly</c>: the HTTP API accepts only GET and HEAD (admin privilege excepted).</summary>
    public bool ReadOnly { get; set; }

    /// <summary>DVID's <c>-fullwrite</c>: writes and mutations are allowed on locked nodes. [Expert use.]</summary>
    public bool FullWrite { get; set; }

    /// <summary>Admin token for <c>?admintoken=</c>; defaults to the environment variable DVID_ADMIN_TOKEN.</summary>
    public string? AdminToken { get; set; }

}

/// <summary>Section <c>Diced:S3</c>. Credentials, region and endpoint default to the standard AWS environment
/// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3, profiles).</summary>
public sealed class S3Settings
{
    public string? Endpoint { get; set; }
    public string? Region { get; set; }
    public bool? ForcePathStyle { get; set; }
    /// <summary>Create the bucket if it is missing (otherwise a missing bucket stops the server with a clear error).</summary>
    public bool CreateBucket { get; set; }
    /// <summary>Plain payloads and only required checksums, for services that reject the SDK's newer defaults (Ceph, GCS).</summary>
    public bool CompatibleChecksums { get; set; } = true;
    public int Parallelism { get; set; } = 16;
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
}

/// <summary>Section <c>Diced:Gcs</c>: a service-account key file (DICED's permissionfile) or application-default credentials.</summary>
public sealed class GcsSettings
{
    public string? Endpoint { get; set; }
    public string? CredentialsFile { get; set; }
    public bool Anonymous { get; set; }
    public bool CreateBucket { get; set; }
    public string? Project { get; set; }
    public int Parallelism { get; set; } = 16;
}
