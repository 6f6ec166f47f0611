namespace ConvNet.Gpu;

/// <summary>
/// Argument checks shared by every backend, so that bad input fails identically everywhere and before any work.
/// Each failure throws a <see cref="ConvNetArgumentException"/> subclass whose message names the op, the argument and the shapes.
/// </summary>
internal static class OpChecks
{
    public static void Owned(IBackend backend, string op, string name, Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (!ReferenceEquals(t.Backend, backend))
            throw new ShapeMismatchException(t.Backend.Name == backend.Name
                ? $"{op}: {name} {t.Shape} lives on another '{backend.Name}' backend instance ({Instance(t.Backend)}) than the one running the op " +
                  $"({Instance(backend)}); every tensor of an op must be allocated on the backend that runs it (copy it over with ToArray and Upload)."
                : $"{op}: {name} {t.Shape} lives on backend '{t.Backend.Name}', not on '{backend.Name}'.");
        _ = t.Storage; // throws ObjectDisposedException for disposed tensors
    }

    /// <summary>"instance #3": the order in which the process created the backend (BackendBase.InstanceNumber).</summary>
    private static string Instance(IBackend backend) => backend is BackendBase b ? $"instance #{b.InstanceNumber}" : "another instance";

    public static void Float(IBackend backend, string op, string name, Tensor t)
    {
        Owned(backend, op, name, t);
        if (t.DataType != DataType.Float32)
            throw new ShapeMismatchException($"{op}: {name} {t.Shape} must be Float32, got {t.DataType}.");
    }

    public static void Int(IBackend backend, string op, string name, Tensor t)
    {
        Owned(backend, op, name, t);
        if (t.DataType != DataType.Int32)
            throw new ShapeMismatchException($"{op}: {name} {t.Shape} must be Int32, got {t.DataType}.");
    }

    public static void Count(string op, string name, Tensor t, long expected, string what)
    {
        if (t.ElementCount != expected)
            throw new ShapeMismatchException($"{op}: {name} has shape {t.Shape} ({t.ElementCount} elements) but {what} needs {expected} elements.");
    }

    public static void AtLeast(string op, string name, Tensor t, long needed, string what)
    {
        if (t.ElementCount < needed)
            throw new ShapeMismatchException($"{op}: {name} has shape {t.Shape} ({t.ElementCount} elements) but {what} needs at least {needed} elements.");
    }

    public static void Dims(string op, string name, Tensor t, TensorShape expected)
    {
        if (!t.Shape.SameDimensions(expected))
            throw new ShapeMismatchException($"{op}: expected {name} of shape {expected}, got {t.Shape}.");
    }

    public static void SameCount(string op, string nameA, Tensor a, string nameB, Tensor b)
    {
        if (a.ElementCount != b.ElementCount)
            throw new ShapeMismatchException(
                $"{op}: {nameA} {a.Shape} has {a.ElementCount} elements but {nameB} {b.Shape} has {b.ElementCount}.");
    }

    public static void Rank(string op, string name, Tensor t, int min, int max)
    {
        if (t.Rank < min || t.Rank > max)
            throw new ShapeMismatchException(min == max
                ? $"{op}: expected {min}-dimensional {name}, got {t.Rank}-dimensional {name} of size {t.Shape}."
                : $"{op}: expected {name} of rank {min} to {max}, got rank {t.Rank} ({t.Shape}).");
    }

    public static void Positive(string op, string name, long value)
    {
        if (value <= 0) throw new ConvNetArgumentException($"{op}: {name} must be positive, got {value}.", name);
    }

    public static void Finite(string op, string name, float value)
    {
        if (!float.IsFinite(value)) throw new ConvNetArgumentException($"{op}: {name} must be finite, got {value}.", name);
    }

    /// <summary>Rows x cols of a row-major GEMM operand with the given transposition.</summary>
    public static long GemmOperand(int rows, int cols) => (long)rows * cols;
}
