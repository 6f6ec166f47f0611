namespace ConvNet.Gpu.Parameters;

/// <summary>
/// A trainable tensor of a layer together with its gradient (same shape, overwritten by every backward pass). The
/// gradient is allocated the first time it is used, so a frozen parameter, which nothing differentiates, never has one.
/// </summary>
public sealed class Parameter : IDisposable
{
    private Tensor? _gradient;

    internal Parameter(string name, Tensor value, long count, bool ownsValue = true)
    {
        Name = name;
        Value = value;
        Count = count;
        OwnsValue = ownsValue;
    }

    /// <summary>Name inside its layer, e.g. "weight" or "bias".</summary>
    public string Name { get; }

    /// <summary>The current value on the backend.</summary>
    public Tensor Value { get; }

    /// <summary>dLoss/dValue from the latest backward pass; allocated (uninitialized) on first use.</summary>
    public Tensor Gradient => _gradient ??= Persistent.Allocate(Value.Backend, Value.Shape);

    /// <summary>Whether <see cref="Gradient"/> has been allocated (false for a parameter nothing has differentiated, such as a frozen one).</summary>
    public bool HasGradient => _gradient is not null;

    /// <summary>
    /// Number of free values: the element count, or fewer when a connection mask pins some weights to zero
    /// (LeNet-5's C3 counts only its connected kernels).
    /// </summary>
    public long Count { get; }

    /// <summary>False for a parameter that shares another's value (a shared layer's later calls); it frees only its gradient.</summary>
    internal bool OwnsValue { get; }

    /// <summary>Shape of <see cref="Value"/>.</summary>
    public TensorShape Shape => Value.Shape;

    /// <summary>A parameter with the same value tensor as this one and a gradient of its own.</summary>
    internal Parameter Share() => new(Name, Value, Count, ownsValue: false);

    /// <summary>Frees the value (when owned) and the gradient.</summary>
    public void Dispose()
    {
        if (OwnsValue) Value.Dispose();
        _gradient?.Dispose();
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
