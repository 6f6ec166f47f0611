using System.Collections.Immutable;
using System.Text;

namespace ConvNet.Gpu;

/// <summary>
/// An immutable tensor shape of rank 1 to 4 whose dimensions carry names, e.g. (N=64, C=1, H=28, W=28).
/// Storage is always dense row-major, so the last dimension varies fastest (NCHW for images).
/// </summary>
public sealed class TensorShape : IEquatable<TensorShape>
{
    /// <summary>Largest supported rank.</summary>
    public const int MaxRank = 4;

    private readonly int[] _dims;
    private readonly string[] _names;

    /// <summary>Creates a shape from its dimensions and their names (same count, 1 to 4, every dimension ≥ 1).</summary>
    public TensorShape(ReadOnlySpan<int> dims, ReadOnlySpan<string> names)
    {
        if (dims.Length < 1 || dims.Length > MaxRank)
            throw new ShapeMismatchException($"A tensor shape must have rank 1 to {MaxRank}, got rank {dims.Length}.");
        if (names.Length != dims.Length)
            throw new ShapeMismatchException($"A shape of rank {dims.Length} needs {dims.Length} dimension names, got {names.Length}.");
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 1)
                throw new ShapeMismatchException($"Dimension {names[i]} must be at least 1, got {dims[i]} (shape {Format(dims, names)}).");
            count = checked(count * dims[i]);
        }
        _dims = dims.ToArray();
        _names = names.ToArray();
        ElementCount = count;
    }

    /// <summary>An image batch in NCHW order.</summary>
    public static TensorShape Nchw(int n, int c, int h, int w) => new([n, c, h, w], ["N", "C", "H", "W"]);

    /// <summary>A row-major matrix (rows, cols), e.g. a batch of feature vectors (N, features).</summary>
    public static TensorShape Matrix(int rows, int cols) => new([rows, cols], ["rows", "cols"]);

    /// <summary>A vector, e.g. a bias or a batch of labels.</summary>
    public static TensorShape Vector(int length) => new([length], ["len"]);

    /// <summary>A shape of any rank with generic names d0, d1, ...</summary>
    public static TensorShape Of(params int[] dims)
    {
        var names = new string[dims.Length];
        for (int i = 0; i < names.Length; i++) names[i] = "d" + i;
        return new TensorShape(dims, names);
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Product of the dimensions.</summary>
    public long ElementCount { get; }

    /// <summary>Size of dimension <paramref name="axis"/>.</summary>
    public int this[int axis] => _dims[axis];

    /// <summary>The dimensions, outermost first.</summary>
    public ImmutableArray<int> Dimensions => ImmutableArray.Create(_dims);

    /// <summary>The dimension names, outermost first.</summary>
    public ImmutableArray<string> Names => ImmutableArray.Create(_names);

    /// <summary>Name of dimension <paramref name="axis"/>.</summary>
    public string NameOf(int axis) => _names[axis];

    /// <summary>Product of the dimensions from <paramref name="axis"/> to the end (the row-major stride of axis - 1).</summary>
    public long ElementsFrom(int axis)
    {
        long c = 1;
        for (int i = axis; i < _dims.Length; i++) c *= _dims[i];
        return c;
    }

    /// <summary>The same dimensions with the first one replaced (e.g. a smaller last batch).</summary>
    public TensorShape WithFirst(int size)
    {
        var d = (int[])_dims.Clone();
        d[0] = size;
        return new TensorShape(d, _names);
    }

    /// <summary>Whether both shapes have the same dimensions (names are ignored).</summary>
    public bool SameDimensions(TensorShape other) => _dims.AsSpan().SequenceEqual(other._dims);

    /// <inheritdoc/>
    public bool Equals(TensorShape? other) =>
        other is not null && SameDimensions(other) && _names.AsSpan().SequenceEqual(other._names);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TensorShape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Formats as "(N=64, C=1, H=28, W=28)".</summary>
    public override string ToString() => Format(_dims, _names);

    private static string Format(ReadOnlySpan<int> dims, ReadOnlySpan<string> names)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            if (i < names.Length) sb.Append(names[i]).Append('=');
            sb.Append(dims[i]);
        }
        return sb.Append(')').ToString();
    }
}
