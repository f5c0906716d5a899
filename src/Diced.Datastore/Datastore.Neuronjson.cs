using Diced.Datastore.Types.Neuronjson;
using Diced.Datastore.Versioning;

namespace Diced.Datastore;

/// <summary>neuronjson at a version.</summary>
public sealed partial class Datastore
{
    public NeuronAnnotations NeuronAnnotationsOf(VersionedData data)
        => data.Instance.TypeName == "neuronjson" ? new NeuronAnnotations(data) : throw DatastoreException.BadRequest($"data \"{data.Instance.Name}\" is not a neuronjson instance");
}
