namespace ConvNet.Gpu;

/// <summary>
/// Base type for every invalid-argument error the engine raises. It is thrown before any
/// work is done (before any kernel launch), and its message names the offending values.
/// </summary>
public class ConvNetArgumentException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the values involved.</summary>
    public ConvNetArgumentException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the name of the offending parameter.</summary>
    public ConvNetArgumentException(string message, string? paramName) : base(message, paramName) { }
}

/// <summary>A tensor has the wrong rank, shape, element count, data type or owning backend.</summary>
public sealed class ShapeMismatchException : ConvNetArgumentException
{
    /// <summary>Creates the exception with a message that names the shapes involved.</summary>
    public ShapeMismatchException(string message) : base(message) { }
}

/// <summary>
/// A convolution or pooling specification is invalid for the given input: a non-positive stride
/// or dilation, negative padding, a kernel larger than the padded input, groups that do not divide
/// the channels, and so on.
/// </summary>
public sealed class InvalidGeometryException : ConvNetArgumentException
{
    /// <summary>Creates the exception with a message that names the values involved.</summary>
    public InvalidGeometryException(string message) : base(message) { }
}
