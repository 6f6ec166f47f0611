using System.Collections.Immutable;

namespace ConvNet.Gpu.Data;

/// <summary>
/// The content of one IDX file of unsigned bytes: its dimensions (outermost first, e.g. images × rows × columns)
/// and its data in row-major order.
/// </summary>
public sealed class IdxArray
{
    /// <summary>Wraps dimensions and data; the data length must equal the product of the dimensions.</summary>
    /// <param name="dimensions">Dimensions, outermost first; each at least 1.</param>
    /// <param name="data">Row-major unsigned-byte data.</param>
    /// <exception cref="ConvNetArgumentException">The lengths do not agree or a dimension is below 1.</exception>
    public IdxArray(ImmutableArray<int> dimensions, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (dimensions.IsDefaultOrEmpty)
            throw new ConvNetArgumentException("An IDX array needs at least one dimension.", nameof(dimensions));
        long product = 1;
        foreach (int d in dimensions)
        {
            if (d < 1)
                throw new ConvNetArgumentException($"IDX dimensions must be at least 1, got [{string.Join(", ", dimensions)}].", nameof(dimensions));
            product = checked(product * d);
        }
        if (product != data.Length)
            throw new ConvNetArgumentException(
                $"IDX dimensions [{string.Join(", ", dimensions)}] hold {product} elements but the data has {data.Length}.", nameof(data));
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>Dimensions, outermost first (e.g. [60000, 28, 28] for MNIST training images).</summary>
    public ImmutableArray<int> Dimensions { get; }

    /// <summary>Number of dimensions (3 for images, 1 for labels).</summary>
    public int Rank => Dimensions.Length;

    /// <summary>Row-major data, one byte per element.</summary>
    public byte[] Data { get; }

    /// <summary>Formats the dimensions as "60000x28x28".</summary>
    public override string ToString() => string.Join("x", Dimensions);
}
