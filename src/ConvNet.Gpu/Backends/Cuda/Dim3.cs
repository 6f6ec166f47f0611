namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>Grid or block dimensions of a kernel launch (all components at least 1).</summary>
/// <param name="X">Extent along x.</param>
/// <param name="Y">Extent along y.</param>
/// <param name="Z">Extent along z.</param>
internal readonly record struct Dim3(int X, int Y = 1, int Z = 1)
{
    /// <summary>A one-dimensional extent.</summary>
    public static implicit operator Dim3(int x) => new(x);

    /// <summary>X * Y * Z.</summary>
    public long Volume => (long)X * Y * Z;

    /// <inheritdoc/>
    public override string ToString() => $"({X},{Y},{Z})";
}
