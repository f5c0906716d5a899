namespace Diced.Codecs.Annotations;

/// <summary>DVID's element kinds (<c>Kind</c>), in DVID's numbering.</summary>
public enum ElementKind : byte { Unknown, PostSyn, PreSyn, Gap, Note }

/// <summary>DVID's relationship kinds (<c>Rel</c>), in DVID's numbering.</summary>
public enum RelationKind : byte { UnknownRelationship, PostSynTo, PreSynTo, ConvergentTo, GroupedWith }

/// <summary>A voxel position of an element.</summary>
public readonly record struct ElementPos(int X, int Y, int Z)
{
    /// <summary>DVID's <c>Point3d.String()</c>, used in its messages: <c>(x,y,z)</c>.</summary>
    public override string ToString() => $"({X},{Y},{Z})";

    /// <summary>Signed z, then y, then x: the order blocks and positions are listed in.</summary>
    public static int CompareZyx(ElementPos a, ElementPos b)
    {
        int c = a.Z.CompareTo(b.Z);
        if (c != 0) return c;
        c = a.Y.CompareTo(b.Y);
        return c != 0 ? c : a.X.CompareTo(b.X);
    }
}

/// <summary>A link from one element to another (<c>{"Rel": …, "To": [x, y, z]}</c>).</summary>
public readonly record struct Relationship(RelationKind Rel, ElementPos To);

/// <summary>
/// A point annotation as DVID keeps it: position, kind, indexed tags, free properties (written with sorted keys, as Go
/// writes maps) and relationships to other elements. Missing tags, properties and relationships are empty.
/// </summary>
public sealed class Element
{
    public ElementPos Pos { get; set; }
    public ElementKind Kind { get; set; }
    public List<string> Tags { get; set; } = [];
    public SortedDictionary<string, string> Prop { get; set; } = new(StringComparer.Ordinal);
    public List<Relationship> Rels { get; set; } = [];

    /// <summary>Whether the kind counts as synaptic (DVID's <c>IsSynaptic</c>: PostSyn, PreSyn, Gap).</summary>
    public static bool IsSynaptic(ElementKind kind) => kind is ElementKind.PostSyn or ElementKind.PreSyn or ElementKind.Gap;

    public Element Clone() => new()
    {
        Pos = Pos, Kind = Kind, Tags = [.. Tags], Prop = new SortedDictionary<string, string>(Prop, StringComparer.Ordinal), Rels = [.. Rels],
    };
}
