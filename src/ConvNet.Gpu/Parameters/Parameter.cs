namespace ConvNet.Gpu.Parameters;

/// <summary>
/// A trainable tensor of a layer together with its gradient (same shape, overwritten by every backward pass).
/// </summary>
public sealed class Parameter : IDisposable
{
    internal Parameter(string name, Tensor value, Tensor gradient, long count)
    {
        Name = name;
        Value = value;
        Gradient = gradient;
        Count = count;
    }

    /// <summary>Name inside its layer, e.g. "weight" or "bias".</summary>
    public string Name { get; }

    /// <summary>The current value on the backend.</summary>
    public Tensor Value { get; }

    /// <summary>dLoss/dValue from the latest backward pass.</summary>
    public Tensor Gradient { get; }

    /// <summary>
    /// Number of free values: the element count, or fewer when a connection mask pins some weights to zero
    /// (LeNet-5's C3 counts only its connected kernels).
    /// </summary>
    public long Count { get; }

    /// <summary>Shape of <see cref="Value"/>.</summary>
    public TensorShape Shape => Value.Shape;

    /// <summary>Frees the value and the gradient.</summary>
    public void Dispose()
    {
        Value.Dispose();
        Gradient.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shape}";
}

/// <summary>A non-trainable tensor a layer carries between steps, e.g. batch-norm running statistics.</summary>
public sealed class StateTensor : IDisposable
{
    internal StateTensor(string name, Tensor value)
    {
        Name = name;
        Value = value;
    }

    /// <summary>Name inside its layer, e.g. "running_mean".</summary>
    public string Name { get; }

    /// <summary>The value on the backend.</summary>
    public Tensor Value { get; }

    /// <summary>Frees the tensor.</summary>
    public void Dispose() => Value.Dispose();
}
