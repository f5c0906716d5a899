namespace Diced.Datastore.Types.KeyValue;

/// <summary>The <c>keyvalue</c> type: opaque byte values under string keys.</summary>
public sealed class KeyValueType : DataType
{
    public override string Name => "keyvalue";
    public override string Url => "github.com/janelia-flyem/dvid/datatype/keyvalue";
    public override string Version => "0.2";

    public override bool ShowsInDiff(ReadOnlySpan<byte> tkey) => tkey.Length > 0 && tkey[0] == KeyValueData.KeyClass;

    public override string DescribeKey(ReadOnlySpan<byte> tkey)
        => tkey.Length >= 3 && tkey[0] == KeyValueData.KeyClass ? System.Text.Encoding.UTF8.GetString(Versioning.DataKeys.UnescapeString(tkey)) : base.DescribeKey(tkey);

    public override string Help => """
        API for 'keyvalue' datatype (github.com/janelia-flyem/dvid/datatype/keyvalue)
        ============================================================================

        GET  <api URL>/node/<UUID>/<data name>/help
        GET  <api URL>/node/<UUID>/<data name>/info
        GET  <api URL>/node/<UUID>/<data name>/tags
        POST <api URL>/node/<UUID>/<data name>/tags[?replace=true]

        GET  <api URL>/node/<UUID>/<data name>/keys
            Returns all keys visible at this version as a JSON array in ascending byte order.

        GET  <api URL>/node/<UUID>/<data name>/keyrange/<key1>/<key2>
            Returns the keys k with key1 <= k <= key2 as a JSON array.

        GET  <api URL>/node/<UUID>/<data name>/keyrangevalues/<key1>/<key2>[?json=true|tar=true|jsontar=true][&check=true]
            Streams the keys in the range with their values: protobuf KeyValues (default), a JSON object, or a tar file.

        GET  <api URL>/node/<UUID>/<data name>/keyvalues[?json=true|tar=true|jsontar=true][&check=true]
            Request body: protobuf Keys, or with json/tar a JSON array of keys or {"key","byte_start","byte_end"} objects.
        POST <api URL>/node/<UUID>/<data name>/keyvalues
            Request body: protobuf KeyValues; stores every pair.

        GET    <api URL>/node/<UUID>/<data name>/key/<key>[?byte_start=a&byte_end=b]
        HEAD   <api URL>/node/<UUID>/<data name>/key/<key>
        POST   <api URL>/node/<UUID>/<data name>/key/<key>
        DELETE <api URL>/node/<UUID>/<data name>/key/<key>
            Performs operations on one key. GET honours a single "Range: bytes=" header (206 Partial Content).
        """;
}
