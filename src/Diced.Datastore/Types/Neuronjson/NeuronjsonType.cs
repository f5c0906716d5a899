namespace Diced.Datastore.Types.Neuronjson;

/// <summary>
/// DVID's <c>neuronjson</c>: a JSON object per body id (type, instance, status…) with who set each field and when,
/// queried by field values; what Clio and neuPrint's proofreading tables read and write.
/// </summary>
public sealed class NeuronjsonType : DataType
{
    public override string Name => "neuronjson";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/neuronjson";
    public override string Version => "0.1";

    public override string Help => """
        API for 'neuronjson' datatype (github.com/janelia-flyem/dvid/datatype/neuronjson)
        ================================================================================

        Keys are body ids; values JSON objects with a "bodyid" member equal to the key. Each field X set by a POST gets
        X_user (the ?u= user) and X_time (RFC 3339) unless those are posted; a null value deletes X. Versioned like
        keyvalue. Read options: show=user|time|all (include _user/_time fields), fields=a,b (only those, and bodyid).

        GET  <api URL>/node/<UUID>/<data name>/help
        GET  <api URL>/node/<UUID>/<data name>/info
        POST <api URL>/node/<UUID>/<data name>/info
        GET  <api URL>/node/<UUID>/<data name>/tags
        POST <api URL>/node/<UUID>/<data name>/tags?<options>
        GET|POST|DELETE|HEAD <api URL>/node/<UUID>/<data name>/<schema type>     json_schema, schema or schema_batch
        GET  <api URL>/node/<UUID>/<data name>/all[?show=...&fields=...]
        GET  <api URL>/node/<UUID>/<data name>/keys
        GET  <api URL>/node/<UUID>/<data name>/fields[?counts=true]
        GET  <api URL>/node/<UUID>/<data name>/fieldtimes
        GET  <api URL>/node/<UUID>/<data name>/keyrange/<key1>/<key2>
        GET  <api URL>/node/<UUID>/<data name>/keyrangevalues/<key1>/<key2>?json=true|tar=true|jsontar=true
        GET  <api URL>/node/<UUID>/<data name>/key/<key>[?show=...&fields=...]
        POST <api URL>/node/<UUID>/<data name>/key/<key>?u=<user>[&replace=true][&conditional=f1,f2]
        DELETE <api URL>/node/<UUID>/<data name>/key/<key>
        HEAD   <api URL>/node/<UUID>/<data name>/key/<key>
        GET  <api URL>/node/<UUID>/<data name>/keyvalues[?json=true|tar=true|jsontar=true]   keys in the body
        POST <api URL>/node/<UUID>/<data name>/keyvalues?u=<user>   protobuf KeyValues, stored in one commit
        GET|POST <api URL>/node/<UUID>/<data name>/query[?show=...&fields=...&onlyid=true]
            {"field": value, ...} ANDs fields; [{...}, {...}] ORs objects; a list of values matches any; "re/<regex>"
            (unanchored, as DVID); "exists/0" (missing), "exists/1" (present). Results ascend by body id.
        """;
}
