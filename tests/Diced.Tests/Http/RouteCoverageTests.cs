using Diced.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Diced.Tests.Http;

/// <summary>
/// Every mapped route has a bad-input case here, and each case gets a clear 4xx in DVID's error shape.
/// A new route without a case fails <see cref="Every_route_has_a_bad_input_case"/>.
/// </summary>
public class RouteCoverageTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _c = f.Client;

    /// <summary>Routes that take no input at all (nothing to get wrong).</summary>
    internal static readonly HashSet<string> NoInput =
    [
        "GET /api/server/info", "GET /api/server/types", "GET /api/server/compiled-types", "GET /api/server/note",
        "GET /api/heartbeat", "GET /api/help", "GET /api/repos/info", "GET /openapi/v1.json", "GET /api/server/whoami", "GET /metrics", "GET /healthz", "GET /readyz",
    ];

    internal const string Unknown = "ffffffffffffffffffffffffffff0000";

    /// <summary>For each "METHOD pattern": a bad request (relative URL, body) and the error text it must produce.</summary>
    internal static Dictionary<string, Func<string, (string Url, string? Body, string Expect)>> Cases() => new()
    {
        ["GET /api/server/token"] = _ => ("/api/server/token", null, "tokens are not used"),
        ["POST /api/server/reload-auth"] = _ => ("/api/server/reload-auth", "", "no auth file to reload"),
        ["GET /api/help/{typename}"] = _ => ("/api/help/nosuchtype", null, "not supported"),
        ["POST /api/repos"] = _ => ("/api/repos", "{\"alias\": 5}", "was not a string"),
        ["HEAD /api/repo/{uuid}"] = _ => ($"/api/repo/{Unknown}", null, ""),
        ["DELETE /api/repo/{uuid}"] = u => ($"/api/repo/{u}", null, "imsure=true"),
        ["GET /api/repo/{uuid}/info"] = _ => ($"/api/repo/{Unknown}/info", null, "could not find UUID"),
        ["POST /api/repo/{uuid}/info"] = u => ($"/api/repo/{u}/info", "{\"alias\": [1]}", "was not a string"),
        ["POST /api/repo/{uuid}/instance"] = u => ($"/api/repo/{u}/instance", "{\"typename\": \"nosuch\", \"dataname\": \"x\"}", "not supported"),
        ["POST /api/repo/{uuid}/merge"] = u => ($"/api/repo/{u}/merge", "{\"mergeType\": \"conflict-free\", \"parents\": []}", "at least two parent"),
        ["POST /api/repo/{uuid}/resolve"] = u => ($"/api/repo/{u}/resolve", "{\"data\": [\"kv\"], \"parents\": [\"x\"]}", "at least two parent"),
        ["GET /api/node/{uuid}/{name}/diff/{other}"] = u => ($"/api/node/{u}/kv/diff/{Unknown}", null, "could not find UUID"),
        ["DELETE /api/node/{uuid}"] = u => ($"/api/node/{u}", null, "imsure=true"),
        ["POST /api/repo/{uuid}/archive/{branch}"] = u => ($"/api/repo/{u}/archive/nosuchbranch", "", "has no branch"),
        ["GET /api/repo/{uuid}/storage"] = _ => ($"/api/repo/{Unknown}/storage", null, "could not find UUID"),
        ["GET /api/repo/{uuid}/log"] = _ => ($"/api/repo/{Unknown}/log", null, "could not find UUID"),
        ["POST /api/repo/{uuid}/log"] = u => ($"/api/repo/{u}/log", "{\"log\": \"not a list\"}", "array of strings"),
        ["GET /api/repo/{uuid}/branch-versions/{branch}"] = _ => ($"/api/repo/{Unknown}/branch-versions/master", null, "could not find UUID"),
        ["DELETE /api/repo/{uuid}/{name}"] = u => ($"/api/repo/{u}/nosuch?imsure=true", null, "invalid data instance name"),
        ["GET /api/node/{uuid}/commit"] = _ => ($"/api/node/{Unknown}/commit", null, "could not find UUID"),
        ["GET /api/node/{uuid}/status"] = _ => ($"/api/node/{Unknown}/status", null, "could not find UUID"),
        ["POST /api/node/{uuid}/commit"] = u => ($"/api/node/{u}/commit", "{\"note\": ", "Malformed JSON"),
        ["POST /api/node/{uuid}/newversion"] = u => ($"/api/node/{u}/newversion", "", "can't branch an unlocked node"),
        ["POST /api/node/{uuid}/branch"] = u => ($"/api/node/{u}/branch", "{\"branch\": \"b\"}", "can't branch an unlocked node"),
        ["POST /api/node/{uuid}/tag"] = u => ($"/api/node/{u}/tag", "{}", "'tag'"),
        ["GET /api/node/{uuid}/note"] = _ => ($"/api/node/{Unknown}/note", null, "could not find UUID"),
        ["POST /api/node/{uuid}/note"] = u => ($"/api/node/{u}/note", "{\"note\": 3}", "must be a string"),
        ["GET /api/node/{uuid}/log"] = _ => ($"/api/node/{Unknown}/log", null, "could not find UUID"),
        ["POST /api/node/{uuid}/log"] = u => ($"/api/node/{u}/log", "{}", "'log'"),
        ["GET /api/node/{uuid}/{name}/info"] = u => ($"/api/node/{u}/nosuch/info", null, "invalid data instance name"),
        ["POST /api/node/{uuid}/{name}/info"] = u => ($"/api/node/{u}/nosuch/info", null, "invalid data instance name"),
        ["GET /api/node/{uuid}/{name}/help"] = u => ($"/api/node/{u}/nosuch/help", null, "invalid data instance name"),
        ["GET /api/node/{uuid}/{name}/{**rest}"] = u => ($"/api/node/{u}/kv/nosuchkeyword", null, "Bad API call"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/tags"] = _ => ($"/api/node/{Unknown}/kv/tags", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(keyvalue)}/tags"] = u => ($"/api/node/{u}/kv/tags", "{\"a\": 1}", "was not a string"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/key/{key}"] = u => ($"/api/node/{u}/kv/key/k?byte_start=1", null, "both"),
        ["POST /api/node/{uuid}/{name:datatype(keyvalue)}/key/{key}"] = u => ($"/api/node/{u}/nosuch/key/k", "x", "invalid data instance name"),
        ["DELETE /api/node/{uuid}/{name:datatype(keyvalue)}/key/{key}"] = u => ($"/api/node/{u}/nosuch/key/k", null, "invalid data instance name"),
        ["PUT /api/node/{uuid}/{name:datatype(keyvalue)}/key/{key}"] = u => ($"/api/node/{u}/kv/key/k", "x", "does not support \"put\""),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/key"] = u => ($"/api/node/{u}/kv/key", null, "requires a key"),
        ["POST /api/node/{uuid}/{name:datatype(keyvalue)}/key"] = u => ($"/api/node/{u}/kv/key", "x", "requires a key"),
        ["DELETE /api/node/{uuid}/{name:datatype(keyvalue)}/key"] = u => ($"/api/node/{u}/kv/key", null, "requires a key"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keys"] = _ => ($"/api/node/{Unknown}/kv/keys", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keys/{**ignored}"] = _ => ($"/api/node/{Unknown}/kv/keys/0/z", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keyrange/{first}/{last}/{**ignored}"] = _ => ($"/api/node/{Unknown}/kv/keyrange/a/b", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keyrange/{**partial}"] = u => ($"/api/node/{u}/kv/keyrange/a", null, "two keys"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keyrangevalues/{first}/{last}/{**ignored}"] = u => ($"/api/node/{u}/kv/keyrangevalues/a/b?json=true&tar=true", null, "both"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keyrangevalues/{**partial}"] = u => ($"/api/node/{u}/kv/keyrangevalues/a", null, "two keys"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/keyvalues"] = u => ($"/api/node/{u}/kv/keyvalues?json=true", "{\"not\": \"an array\"}", "JSON array"),
        ["POST /api/node/{uuid}/{name:datatype(keyvalue)}/keyvalues"] = u => ($"/api/node/{u}/kv/keyvalues", "\u000a\u00ff", "protobuf"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/raw/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/img/raw/0_1_2/10_10/0_0_0", null, "3 underscore-separated"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/raw/{dims}/{size}/{offset}/{format}"] = u => ($"/api/node/{u}/img/raw/0_1/8_8/0_0_0/gif", null, "Illegal image format"),
        ["POST /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/raw/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/img/raw/0_1_2/8_8_8/0_0_0", "short", "expected 512 bytes"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/metadata"] = _ => ($"/api/node/{Unknown}/img/metadata", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/extents"] = u => ($"/api/node/{u}/img/extents", "{\"MinPoint\": [1]}", "MinPoint"),
        ["POST /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/resolution"] = u => ($"/api/node/{u}/img/resolution", "[1, 2]", "3 positive numbers"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/subvolblocks/{size}/{offset}"] = u => ($"/api/node/{u}/img/subvolblocks/7_8_8/0_0_0", null, "block-aligned"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/specificblocks"] = u => ($"/api/node/{u}/img/specificblocks?blocks=1,2", null, "triples"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/blocks/{block}/{span}"] = u => ($"/api/node/{u}/img/blocks/0_0_0/-1", null, "span"),
        ["POST /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/blocks/{block}/{span}"] = u => ($"/api/node/{u}/img/blocks/0_0_0/1", "short", "expected 1 blocks"),
        ["POST /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/downres/{level}/{size}/{offset}"] = u => ($"/api/node/{u}/img/downres/1/8_8_8/0_0_0", "", "keeps no pyramid"),
        ["GET /api/node/{uuid}/{name:datatype(ndarray)}/raw/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/nd/raw/0_1_2_4/8_8_8_1/0_0_0_0", null, "names dimension 4"),
        ["POST /api/node/{uuid}/{name:datatype(ndarray)}/raw/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/nd/raw/0_1_2_3/8_8_8_1/0_0_0_0", "short", "expected 512 bytes"),
        ["GET /api/node/{uuid}/{name:datatype(roi)}/roi"] = _ => ($"/api/node/{Unknown}/r/roi", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(roi)}/roi"] = u => ($"/api/node/{u}/r/roi", "[[0,0,2,1]]", "ends before it starts"),
        ["DELETE /api/node/{uuid}/{name:datatype(roi)}/roi"] = u => ($"/api/node/{u}/nosuch/roi", null, "invalid data instance name"),
        ["POST /api/node/{uuid}/{name:datatype(roi)}/ptquery"] = u => ($"/api/node/{u}/r/ptquery", "[[1,2]]", "3 integers"),
        ["GET /api/node/{uuid}/{name:datatype(roi)}/mask/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/r/mask/0_1_2/0_1_1/0_0_0", null, "positive"),
        ["GET /api/node/{uuid}/{name:datatype(roi)}/partition"] = u => ($"/api/node/{u}/r/partition?batchsize=0", null, "batchsize"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/sparsevol-by-point/{coord}"] = u => ($"/api/node/{u}/lab/sparsevol-by-point/1_2_3", null, "background"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/supervoxel-sizes/{label}"] = u => ($"/api/node/{u}/lab/supervoxel-sizes/x", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/index/{label}"] = u => ($"/api/node/{u}/lab/index/0", null, "background"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/index/{label}"] = u => ($"/api/node/{u}/lab/index/5", "\u00ff", "LabelIndex"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/indices"] = u => ($"/api/node/{u}/lab/indices", "[\"a\"]", "is not a label"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/indices"] = u => ($"/api/node/{u}/lab/indices", "\u00ff", "LabelIndices"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/mappings"] = _ => ($"/api/node/{Unknown}/lab/mappings", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/mappings"] = u => ($"/api/node/{u}/lab/mappings", "\u00ff", "MappingOps"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/split-supervoxel/{label}"] = u => ($"/api/node/{u}/lab/split-supervoxel/5", "short", "shorter than its 12-byte header"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/split/{label}"] = u => ($"/api/node/{u}/lab/split/5", "", "deactivated"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/renumber"] = u => ($"/api/node/{u}/lab/renumber", "[1]", "pairs"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/split-supervoxel/{label}"] = u => ($"/api/node/{u}/lab/split-supervoxel/5", null, "must be POST"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/split/{label}"] = u => ($"/api/node/{u}/lab/split/5", null, "must be POST"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/renumber"] = u => ($"/api/node/{u}/lab/renumber", null, "must be POST"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/raw/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/lab/raw/0_1_2/8_8_8/0_0_0?compression=snappy", null, "unknown compression"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/raw/{dims}/{size}/{offset}/{format}"] = u => ($"/api/node/{u}/lab/raw/0_1_2/8_8_8/0_0_0/png", null, "cannot be returned as png"),
        ["POST /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/raw/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/lab/raw/0_1_2/8_8_8/0_0_0", "short", "expected 4096 bytes"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/label/{coord}"] = u => ($"/api/node/{u}/lab/label/1_2", null, "coordinate"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/labels"] = u => ($"/api/node/{u}/lab/labels", "[[1,2]]", "triples"),
        ["POST /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/labels"] = u => ($"/api/node/{u}/lab/labels", "[[1,2,3]]", "must be a GET request"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/blocks/{size}/{offset}"] = u => ($"/api/node/{u}/lab/blocks/7_64_64/0_0_0", null, "block-aligned"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/metadata"] = _ => ($"/api/node/{Unknown}/lab/metadata", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/extents"] = u => ($"/api/node/{u}/lab/extents", "{\"MinPoint\": [1]}", "MinPoint"),
        ["POST /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/resolution"] = u => ($"/api/node/{u}/lab/resolution", "[1, 2]", "3 positive numbers"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap|labelarray)}/blocks"] = u => ($"/api/node/{u}/lab/blocks", "short", "truncated"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/ingest-supervoxels"] = u => ($"/api/node/{u}/lab/ingest-supervoxels", "short", "truncated"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray)}/specificblocks"] = u => ($"/api/node/{u}/lab/specificblocks?blocks=1,2", null, "triples"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/maxlabel"] = u => ($"/api/node/{u}/lab/maxlabel", null, "No maximum label"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/nextlabel"] = _ => ($"/api/node/{Unknown}/lab/nextlabel", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/nextlabel/{count}"] = u => ($"/api/node/{u}/lab/nextlabel/0", null, "positive integer"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/sparsevol/{label}"] = u => ($"/api/node/{u}/lab/sparsevol/abc", null, "not a non-negative"),
        ["HEAD /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/sparsevol/{label}"] = u => ($"/api/node/{u}/lab/sparsevol/abc", null, ""),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/sparsevol-coarse/{label}"] = u => ($"/api/node/{u}/lab/sparsevol-coarse/0", null, "background"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray)}/sparsevol-size/{label}"] = u => ($"/api/node/{u}/lab/sparsevol-size/x", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/size/{label}"] = u => ($"/api/node/{u}/lab/size/-1", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/sizes"] = u => ($"/api/node/{u}/lab/sizes", "{}", "JSON array"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/supervoxels/{label}"] = u => ($"/api/node/{u}/lab/supervoxels/x", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/mapping"] = u => ($"/api/node/{u}/lab/mapping", "[1.5]", "is not a label"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/lastmod/{label}"] = u => ($"/api/node/{u}/lab/lastmod/x", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/mutations"] = _ => ($"/api/node/{Unknown}/lab/mutations", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/merge"] = u => ($"/api/node/{u}/lab/merge", "[1]", "at least 2"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/cleave/{label}"] = u => ($"/api/node/{u}/lab/cleave/5", "", "no cleave supervoxels"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray|labelvol)}/merge"] = u => ($"/api/node/{u}/lab/merge", null, "must be POST"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/cleave/{label}"] = u => ($"/api/node/{u}/lab/cleave/5", null, "must be POST"),
        ["POST /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/sync"] = u => ($"/api/node/{u}/lab/sync", "{\"sync\": \"nosuch\"}", "not syncable"),
        ["POST /api/node/{uuid}/{name:datatype(labelarray|labelvol)}/nextlabel"] = u => ($"/api/node/{u}/arr/nextlabel", "{\"needed\": 0}", "positive integer"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/maxlabel/{label}"] = u => ($"/api/node/{u}/lab/maxlabel/5", "", "admin"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/set-nextlabel/{label}"] = u => ($"/api/node/{u}/lab/set-nextlabel/5", "", "admin"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/mutations-range/{from}/{to}"] = u => ($"/api/node/{u}/lab/mutations-range/{Unknown}/{u}", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/supervoxel-splits"] = _ => ($"/api/node/{Unknown}/lab/supervoxel-splits", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/history/{label}/{from}/{to}"] = u => ($"/api/node/{u}/lab/history/0/{u}/{u}", null, "background"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/mutations"] = _ => ($"/api/node/{Unknown}/kv/mutations", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(keyvalue)}/mutations-range/{from}/{to}"] = u => ($"/api/node/{u}/kv/mutations-range/{Unknown}/{u}", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/listlabels"] = u => ($"/api/node/{u}/lab/listlabels?start=-1", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/existing-labels"] = _ => ($"/api/node/{Unknown}/lab/existing-labels", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/map-stats"] = _ => ($"/api/node/{Unknown}/lab/map-stats", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap|labelarray)}/sparsevols-coarse/{start}/{end}"] = u => ($"/api/node/{u}/lab/sparsevols-coarse/0/5", null, "background"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/indices-compressed"] = u => ($"/api/node/{u}/lab/indices-compressed", "[]", "array of labels"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/index-version/{label}"] = u => ($"/api/node/{u}/lab/index-version/x", null, "not a non-negative"),
        ["POST /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/info"] = u => ($"/api/node/{u}/lab/info", "{\"BlockSize\": \"1,2,3\"}", "BlockSize cannot change"),
        ["POST /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/info"] = u => ($"/api/node/{u}/img/info", "{\"VoxelSize\": \"0,0,0\"}", "positive"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/tags"] = _ => ($"/api/node/{Unknown}/lab/tags", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(labelmap)}/tags"] = u => ($"/api/node/{u}/lab/tags", "{\"a\": 1}", "was not a string"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/isotropic/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/img/isotropic/0_1_2/10_10/0_0_0", null, "3 underscore-separated"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/isotropic/{dims}/{size}/{offset}/{format}"] = u => ($"/api/node/{u}/img/isotropic/0_1/8_8/0_0_0/gif", null, "Illegal image format"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/arb/{tl}/{tr}/{bl}/{res}"] = u => ($"/api/node/{u}/img/arb/0_0_0/80_0_0/0_80/8", null, "x_y_z"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/arb/{tl}/{tr}/{bl}/{res}/{format}"] = u => ($"/api/node/{u}/img/arb/0_0_0/80_0_0/0_80_0/0/png", null, "positive number"),
        ["GET /api/node/{uuid}/{name:datatype(uint8blk|uint16blk|uint32blk|uint64blk|float32blk)}/rawkey"] = u => ($"/api/node/{u}/img/rawkey?x=1&y=2", null, "integer block coordinates"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/isotropic/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/lab/isotropic/0_1/8_8/0_0_0?scale=x", null, "scale"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/isotropic/{dims}/{size}/{offset}/{format}"] = u => ($"/api/node/{u}/lab/isotropic/0_1_2/8_8_8/0_0_0/png", null, "cannot be returned as png"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/pseudocolor/{dims}/{size}/{offset}"] = u => ($"/api/node/{u}/lab/pseudocolor/0_1_2/8_8_8/0_0_0", null, "2-D images only"),
        ["GET /api/node/{uuid}/{name:datatype(labelblk|labelmap|labelarray)}/pseudocolor/{dims}/{size}/{offset}/{format}"] = u => ($"/api/node/{u}/lab/pseudocolor/0_1/8_8/0_0_0/jpg", null, "are PNG"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/proximity/{labels}"] = u => ($"/api/node/{u}/lab/proximity/1,x", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(labelmap)}/fvdb/{label}"] = u => ($"/api/node/{u}/lab/fvdb/5", null, "NanoVDB"),
        ["POST /api/node/{uuid}/{name:datatype(labelarray|labelvol)}/split-coarse/{label}"] = u => ($"/api/node/{u}/arr/split-coarse/5", "short", "12-byte header"),
        ["GET /api/node/{uuid}/{name:datatype(labelarray|labelvol)}/split-coarse/{label}"] = u => ($"/api/node/{u}/arr/split-coarse/5", null, "must be POST"),
        ["GET /api/node/{uuid}/{name:datatype(roi)}/erode/{size}"] = u => ($"/api/node/{u}/r/erode/x", null, "structuring element"),
        ["POST /api/node/{uuid}/{name:datatype(labelvol)}/sync"] = u => ($"/api/node/{u}/lv/sync", "{\"sync\": \"nosuch\"}", "nosuch"),
        ["POST /api/node/{uuid}/{name:datatype(labelvol)}/info"] = u => ($"/api/node/{u}/lv/info", "{\"VoxelSize\": \"0,0,0\"}", "positive"),
        ["POST /api/node/{uuid}/{name:datatype(labelvol)}/resync/{label}"] = u => ($"/api/node/{u}/lv/resync/5", "short", "12-byte header"),
        ["DELETE /api/node/{uuid}/{name:datatype(labelvol)}/area/{label}/{size}/{offset}"] = u => ($"/api/node/{u}/lv/area/0/8_8_8/0_0_0", null, "protected"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/sync"] = u => ($"/api/node/{u}/syn/sync", "{\"sync\": \"kv\"}", "cannot sync with"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/tags"] = _ => ($"/api/node/{Unknown}/syn/tags", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/tags"] = u => ($"/api/node/{u}/syn/tags", "{\"a\": 1}", "was not a string"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/elements"] = u => ($"/api/node/{u}/syn/elements", "[{\"Pos\": [1, 2], \"Kind\": \"PreSyn\"}]", "Pos must be [x, y, z]"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/blocks"] = u => ($"/api/node/{u}/syn/blocks", "{\"1,2\": []}", "block key"),
        ["DELETE /api/node/{uuid}/{name:datatype(annotation)}/element/{coord}"] = u => ($"/api/node/{u}/syn/element/1_2_3", null, "Did not find element"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/move/{from}/{to}"] = u => ($"/api/node/{u}/syn/move/1_2_3/4_5_6", "", "Did not find moved element"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/labels"] = u => ($"/api/node/{u}/syn/labels", "[1]", "JSON object"),
        ["POST /api/node/{uuid}/{name:datatype(annotation)}/reload"] = _ => ($"/api/node/{Unknown}/syn/reload", "", "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/mutations"] = _ => ($"/api/node/{Unknown}/syn/mutations", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/label/{label}"] = u => ($"/api/node/{u}/syn/label/x", null, "not a non-negative"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/tag/{tag}"] = _ => ($"/api/node/{Unknown}/syn/tag/t", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/elements/{size}/{offset}"] = u => ($"/api/node/{u}/syn/elements/0_1_1/0_0_0", null, "positive"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/blocks/{size}/{offset}"] = u => ($"/api/node/{u}/syn/blocks/1_1/0_0_0", null, "3 underscore-separated"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/all-elements"] = _ => ($"/api/node/{Unknown}/syn/all-elements", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/roi/{spec}"] = u => ($"/api/node/{u}/syn/roi/a,b,c", null, "Bad ROI specification"),
        ["GET /api/node/{uuid}/{name:datatype(annotation)}/scan"] = _ => ($"/api/node/{Unknown}/syn/scan", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(labelsz)}/sync"] = u => ($"/api/node/{u}/sz/sync", "{\"sync\": \"kv\"}", "cannot sync with"),
        ["GET /api/node/{uuid}/{name:datatype(labelsz)}/count/{label}/{index}"] = u => ($"/api/node/{u}/sz/count/1/presyn", null, "unknown index type"),
        ["GET /api/node/{uuid}/{name:datatype(labelsz)}/counts/{index}"] = u => ($"/api/node/{u}/sz/counts/PreSyn", "[\"a\"]", "Bad JSON label array"),
        ["GET /api/node/{uuid}/{name:datatype(labelsz)}/top/{n}/{index}"] = u => ($"/api/node/{u}/sz/top/x/PreSyn", null, "N \"x\""),
        ["GET /api/node/{uuid}/{name:datatype(labelsz)}/threshold/{t}/{index}"] = u => ($"/api/node/{u}/sz/threshold/1/PreSyn?offset=x", null, "bad offset"),
        ["POST /api/node/{uuid}/{name:datatype(labelsz)}/reload"] = u => ($"/api/node/{u}/sz/reload", "", "not synced with an annotation"),
        ["POST /api/node/{uuid}/{name:datatype(tarsupervoxels)}/sync"] = u => ($"/api/node/{u}/tsv/sync", "{\"sync\": \"kv\"}", "cannot sync with"),
        ["POST /api/node/{uuid}/{name:datatype(tarsupervoxels)}/info"] = u => ($"/api/node/{u}/tsv/info", "{\"Extension\": \"a b\"}", "Extension must be"),
        ["GET /api/node/{uuid}/{name:datatype(tarsupervoxels)}/supervoxel/{id}"] = u => ($"/api/node/{u}/tsv/supervoxel/x", null, "invalid syntax"),
        ["POST /api/node/{uuid}/{name:datatype(tarsupervoxels)}/supervoxel/{id}"] = u => ($"/api/node/{u}/tsv/supervoxel/0", "x", "Supervoxel 0 is protected"),
        ["DELETE /api/node/{uuid}/{name:datatype(tarsupervoxels)}/supervoxel/{id}"] = u => ($"/api/node/{u}/tsv/supervoxel/-1", null, "invalid syntax"),
        ["GET /api/node/{uuid}/{name:datatype(tarsupervoxels)}/tarfile/{label}"] = u => ($"/api/node/{u}/tsv/tarfile/1", null, "not synced with any labelmap"),
        ["GET /api/node/{uuid}/{name:datatype(tarsupervoxels)}/missing/{label}"] = u => ($"/api/node/{u}/tsv/missing/0", null, "Label 0 is protected"),
        ["GET /api/node/{uuid}/{name:datatype(tarsupervoxels)}/exists"] = u => ($"/api/node/{u}/tsv/exists", "{}", "Bad exists request JSON"),
        ["POST /api/node/{uuid}/{name:datatype(tarsupervoxels)}/load"] = u => ($"/api/node/{u}/tsv/load", "not a tar file at all, but long enough to look like one? no: it is short", "corrupt tar"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/tags"] = _ => ($"/api/node/{Unknown}/nj/tags", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/tags"] = u => ($"/api/node/{u}/nj/tags", "{\"a\": 1}", "was not a string"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/json_schema"] = _ => ($"/api/node/{Unknown}/nj/json_schema", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/json_schema"] = u => ($"/api/node/{u}/nj/json_schema", "{\"type\": 5}", "json_schema does not compile"),
        ["DELETE /api/node/{uuid}/{name:datatype(neuronjson)}/json_schema"] = _ => ($"/api/node/{Unknown}/nj/json_schema", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/schema"] = _ => ($"/api/node/{Unknown}/nj/schema", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/schema"] = _ => ($"/api/node/{Unknown}/nj/schema", "{}", "could not find UUID"),
        ["DELETE /api/node/{uuid}/{name:datatype(neuronjson)}/schema"] = _ => ($"/api/node/{Unknown}/nj/schema", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/schema_batch"] = _ => ($"/api/node/{Unknown}/nj/schema_batch", null, "could not find UUID"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/schema_batch"] = _ => ($"/api/node/{Unknown}/nj/schema_batch", "{}", "could not find UUID"),
        ["DELETE /api/node/{uuid}/{name:datatype(neuronjson)}/schema_batch"] = _ => ($"/api/node/{Unknown}/nj/schema_batch", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/key/{key}"] = u => ($"/api/node/{u}/nj/key/x1", null, "invalid syntax"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/key/{key}"] = u => ($"/api/node/{u}/nj/key/1?u=t", "{\"bodyid\": 2}", "must match key 1"),
        ["DELETE /api/node/{uuid}/{name:datatype(neuronjson)}/key/{key}"] = u => ($"/api/node/{u}/nj/key/-1", null, "invalid syntax"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/keyvalues"] = u => ($"/api/node/{u}/nj/keyvalues", "", "without a valid user"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/keyvalues"] = u => ($"/api/node/{u}/nj/keyvalues?json=true", "{}", "JSON array of body ids"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/all"] = _ => ($"/api/node/{Unknown}/nj/all", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/keys"] = _ => ($"/api/node/{Unknown}/nj/keys", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/fields"] = _ => ($"/api/node/{Unknown}/nj/fields", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/fieldtimes"] = _ => ($"/api/node/{Unknown}/nj/fieldtimes", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/keyrange/{first}/{last}"] = u => ($"/api/node/{u}/nj/keyrange/1/2x", null, "invalid syntax"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/keyrangevalues/{first}/{last}"] = u => ($"/api/node/{u}/nj/keyrangevalues/1/2?json=true&tar=true", null, "cannot set both"),
        ["GET /api/node/{uuid}/{name:datatype(neuronjson)}/query"] = u => ($"/api/node/{u}/nj/query", "[]", "no query provided"),
        ["POST /api/node/{uuid}/{name:datatype(neuronjson)}/query"] = u => ($"/api/node/{u}/nj/query", "{\"a\": \"re/(\"}", "invalid regular expression"),
        ["GET /api/node/{uuid}/{name:generatedmeshes}/info"] = _ => ($"/api/node/{Unknown}/lab_meshes/info", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:generatedmeshes}/keys"] = _ => ($"/api/node/{Unknown}/lab_meshes/keys", null, "could not find UUID"),
        ["GET /api/node/{uuid}/{name:generatedmeshes}/key/{key}"] = u => ($"/api/node/{u}/lab_meshes/key/12.ngmesh", null, "not found"),
        ["POST /api/node/{uuid}/{name:generatedmeshes}/key/{key}"] = _ => ($"/api/node/{Unknown}/lab_meshes/key/1.ngmesh", "x", "could not find UUID"),
        ["PUT /api/node/{uuid}/{name:generatedmeshes}/key/{key}"] = _ => ($"/api/node/{Unknown}/lab_meshes/key/1.ngmesh", "x", "could not find UUID"),
        ["DELETE /api/node/{uuid}/{name:generatedmeshes}/key/{key}"] = _ => ($"/api/node/{Unknown}/lab_meshes/key/1.ngmesh", null, "could not find UUID"),
    };

    /// <summary>"METHOD pattern" for each mapped route and method (HEAD folds into GET).</summary>
    private IEnumerable<string> MappedRoutes() => MappedRoutes(f.Factory.Services);

    internal static IEnumerable<string> MappedRoutes(IServiceProvider services)
    {
        var sources = services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        foreach (var e in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            var pattern = "/" + e.RoutePattern.RawText!.TrimStart('/');
            if (pattern.StartsWith("/swagger") || e.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } m)
            {
                if (pattern == "/{**path}") continue; // the 404 fallback
                if (pattern.StartsWith("/swagger")) continue;
                if (e.RoutePattern.RawText is "/api/node/{uuid}/{name}/{**rest}" or "/metrics") { yield return "GET " + pattern; continue; }
                throw new InvalidOperationException($"route {pattern} has no method metadata");
            }
            foreach (var method in m.HttpMethods.Where(x => x != "HEAD" || m.HttpMethods.Count == 1).Where(x => x != "PATCH").Select(x => x == "HEAD" && m.HttpMethods.Contains("GET") ? "GET" : x).Distinct())
                yield return $"{method} {pattern}";
        }
    }

    [Fact]
    public void Every_route_has_a_bad_input_case()
    {
        var cases = Cases();
        var missing = MappedRoutes().Distinct().Where(r => !cases.ContainsKey(r) && !NoInput.Contains(r)).ToList();
        Assert.True(missing.Count == 0, "routes without a bad-input case:\n" + string.Join("\n", missing));
    }

    [Fact]
    public async Task Every_bad_input_case_gets_a_clear_4xx_and_the_server_keeps_serving()
    {
        var uuid = await _c.CreateRepoAsync("coverage");
        await _c.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await _c.CreateInstanceAsync(uuid, "uint8blk", "img", new { BlockSize = "8,8,8" });
        await _c.CreateInstanceAsync(uuid, "roi", "r");
        await _c.CreateInstanceAsync(uuid, "labelmap", "lab");
        await _c.CreateInstanceAsync(uuid, "labelarray", "arr");
        await _c.CreateInstanceAsync(uuid, "labelvol", "lv");
        await _c.CreateInstanceAsync(uuid, "annotation", "syn");
        await _c.CreateInstanceAsync(uuid, "labelsz", "sz");
        await _c.CreateInstanceAsync(uuid, "tarsupervoxels", "tsv", new { Extension = "drc" });
        await _c.CreateInstanceAsync(uuid, "neuronjson", "nj");
        await _c.CreateInstanceAsync(uuid, "ndarray", "nd", new { Shape = "64,64,64,4" });
        var failures = new List<string>();
        foreach (var (route, make) in Cases())
        {
            var method = new HttpMethod(route.Split(' ')[0]);
            var (url, body, expect) = make(uuid);
            var req = new HttpRequestMessage(method, url) { Content = body is null ? null : DvidClient.Text(body) };
            var r = await _c.SendAsync(req);
            var text = await r.Content.ReadAsStringAsync();
            int status = (int)r.StatusCode;
            bool ok = status is >= 400 and < 500 && (method == HttpMethod.Head || (text.Contains(expect) && text.EndsWith(").\n")));
            if (!ok) failures.Add($"{route}: {method} {url} -> {status} {text.Trim()}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // Nothing was stored by any of them.
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/kv/keys"));
        using var info = await _c.GetJsonAsync($"/api/repo/{uuid}/info");
        Assert.Equal(11, DvidClient.StoredInstanceCount(info.RootElement));
        Assert.Equal("drc", info.RootElement.GetProperty("DataInstances").GetProperty("tsv").GetProperty("Extended").GetProperty("Extension").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, info.RootElement.GetProperty("DataInstances").GetProperty("lab").GetProperty("Extended").GetProperty("MaxPoint").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, info.RootElement.GetProperty("DataInstances").GetProperty("img").GetProperty("Extended").GetProperty("MaxPoint").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, info.RootElement.GetProperty("DataInstances").GetProperty("nd").GetProperty("Extended").GetProperty("MaxPoint").ValueKind);
        Assert.Equal("[]", await _c.GetStringAsync($"/api/node/{uuid}/r/roi"));
        Assert.Single(info.RootElement.GetProperty("DAG").GetProperty("Nodes").EnumerateObject());
        Assert.False(info.RootElement.GetProperty("DAG").GetProperty("Nodes").GetProperty(uuid).GetProperty("Locked").GetBoolean());
    }
}
