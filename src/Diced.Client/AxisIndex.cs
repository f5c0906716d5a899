namespace Diced.Client;

/// <summary>
/// One axis of an array subscript: a range (keeps the axis) or a single index (drops it), so that
/// <c>arr[0..4, .., 10..20, 5]</c> reads a 3-D region of a 4-D array. Converts implicitly from <see cref="Range"/>,
/// <see cref="Index"/> and <see cref="int"/>; indices from the end (<c>^1</c>) count from the array's shape or written extent.
/// </summary>
public readonly struct AxisIndex
{
    private AxisIndex(Range range, bool single)
    {
        Range = range;
        IsSingle = single;
    }

    /// <summary>The elements addressed along the axis (one element for a single index).</summary>
    public Range Range { get; }

    /// <summary>Whether this is a single index, which removes the axis from the result.</summary>
    public bool IsSingle { get; }

    public static implicit operator AxisIndex(Range range) => new(range, false);

    public static implicit operator AxisIndex(Index index)
        => new(index.IsFromEnd ? new Range(index, new Index(index.Value - 1, fromEnd: true)) : new Range(index, index.Value + 1), true);

    public static implicit operator AxisIndex(int index) => index >= 0 ? (Index)index
        : throw new ArgumentOutOfRangeException(nameof(index), index, "use ^n to count from the end of an axis");

    public override string ToString() => IsSingle ? Range.Start.ToString() : Range.ToString();
}
