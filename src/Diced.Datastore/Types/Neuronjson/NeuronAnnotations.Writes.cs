using System.Text.Json;
using System.Text.Json.Nodes;

namespace Diced.Datastore.Types.Neuronjson;

/// <summary>POSTs and deletes of annotations.</summary>
public sealed partial class NeuronAnnotations
{
    /// <summary>One POSTed annotation and the body id it is stored under.</summary>
    public sealed record Posted(ulong Body, byte[] Json);

    /// <summary>
    /// Merges (or with <paramref name="replace"/>, replaces) each posted annotation into the stored one, all in one commit;
    /// every annotation is checked before anything is stored.
    /// </summary>
    public async Task PostAsync(IReadOnlyList<Posted> posted, string user, bool replace, IReadOnlySet<string> conditional, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(user)) throw DatastoreException.BadRequest("cannot alter neuronjson data without a valid user");
        var schema = await GetSchemaAsync("json_schema", ct) is { } s ? CompileSchema(s) : null;
        var parsed = posted.Select(p => (p.Body, Object: Check(p, schema))).ToList();
        var now = TimeFormat.Rfc3339(DateTimeOffset.Now);
        await data.WriteAsync(async tx =>
        {
            foreach (var (body, obj) in parsed)
            {
                var stored = await tx.GetAsync(Key(body), ct) is { } old ? JsonNode.Parse(old) as JsonObject : null;
                var merged = NeuronjsonMerge.Apply(stored, obj, user, now, replace, conditional);
                var bytes = Serialize(merged);
                tx.Put(Key(body), bytes);
                Log(tx, "postneuronjson", body, user, bytes.Length);
            }
            return 0;
        }, ct);
    }

    /// <summary>DVID's checks of a posted annotation, in DVID's order, with its messages.</summary>
    private static JsonObject Check(Posted p, Json.Schema.JsonSchema? schema)
    {
        if (p.Body == 0) throw DatastoreException.BadRequest("body id 0 is reserved and so cannot be stored");
        JsonNode? node;
        try { node = JsonNode.Parse(p.Json); }
        catch (JsonException e) { throw DatastoreException.BadRequest(e.Message); }
        if (node is not JsonObject obj) throw DatastoreException.BadRequest($"json: cannot unmarshal {Kind(node)} into Go value of type map[string]json.RawMessage");
        if (schema is not null)
        {
            var result = schema.Evaluate(JsonSerializer.SerializeToElement(obj), new Json.Schema.EvaluationOptions { OutputFormat = Json.Schema.OutputFormat.List });
            if (!result.IsValid)
            {
                var errors = (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"'{d.InstanceLocation}': {e.Value}"));
                throw DatastoreException.BadRequest($"jsonschema: body {p.Body} does not validate: {string.Join("; ", errors)}");
            }
        }
        if (!obj.TryGetPropertyValue("bodyid", out var id) || id is null) throw DatastoreException.BadRequest("neuronjson data must have 'bodyid' field");
        if (id is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !ulong.TryParse(v.ToJsonString(), out var bodyid))
            throw DatastoreException.BadRequest("neuronjson 'bodyid' field must be uint64");
        if (bodyid != p.Body) throw DatastoreException.BadRequest($"neuronjson 'bodyid' field {bodyid} must match key {p.Body}");
        if (obj.ContainsKey("bodyid_user")) throw DatastoreException.BadRequest("'bodyid_user' field not allowed");
        if (obj.ContainsKey("bodyid_time")) throw DatastoreException.BadRequest("'bodyid_time' field not allowed");
        return obj;
    }

    private static string Kind(JsonNode? n) => n switch
    {
        JsonArray => "array", JsonValue v when v.GetValueKind() == JsonValueKind.String => "string", null => "null", _ => "number",
    };

    /// <summary>Deletes <paramref name="body"/>'s annotation (nothing to do when there is none).</summary>
    public Task DeleteAsync(ulong body, string user, CancellationToken ct = default)
        => data.WriteAsync(tx =>
        {
            tx.Delete(Key(body));
            Log(tx, "deleteneuronjson", body, user, null);
            return Task.FromResult(0);
        }, ct);
}
