namespace ConvNet.Gpu.Nn;

/// <summary>
/// Base of the layers that combine two or more tensors (<see cref="Add"/>, <see cref="Concat"/>): they take a list of
/// inputs (<see cref="Layer.Call(SymbolicTensor[])"/> in the functional API) and have no single-input form.
/// </summary>
public abstract class MergeLayer : Layer
{
    /// <summary>Creates the layer.</summary>
    protected MergeLayer(string? name) : base(name) { }

    /// <inheritdoc/>
    protected internal override (int Min, int Max) InputArity => (2, int.MaxValue);

    /// <inheritdoc/>
    protected sealed override TensorShape InferOutputShape(TensorShape inputShape) =>
        throw new ShapeMismatchException($"{TypeName} '{Name}' merges at least two inputs, got one ({inputShape}).");

    /// <inheritdoc/>
    protected sealed override Tensor ForwardCore(Tensor input, bool training) =>
        throw new InvalidOperationException($"{TypeName} '{Name}' merges at least two inputs.");

    /// <inheritdoc/>
    protected sealed override Tensor? BackwardCore(Tensor gradOutput) =>
        throw new InvalidOperationException($"{TypeName} '{Name}' merges at least two inputs.");

    /// <summary>Formats input shapes for messages: "(C=16, H=8, W=8), (C=8, H=8, W=8)".</summary>
    protected static string Describe(IReadOnlyList<TensorShape> shapes) => string.Join(", ", shapes.Select(s => s.ToString()));
}

/// <summary>
/// Element-wise sum of two or more tensors of one shape: y = x0 + x1 + ... (a residual connection is
/// <c>new Add().Call(block, skip)</c>). The gradient of every input is the output gradient itself (no copy).
/// </summary>
public sealed class Add : MergeLayer
{
    /// <summary>Creates the layer.</summary>
    public Add(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Add";

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        for (int i = 1; i < inputShapes.Count; i++)
            if (!inputShapes[i].SameDimensions(inputShapes[0]))
                throw new ShapeMismatchException($"Add '{Name}' needs inputs of one shape, got {Describe(inputShapes)}.");
        return inputShapes[0];
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(IReadOnlyList<Tensor> inputs, bool training)
    {
        var y = Buffer("y", inputs[0].Shape[0]);
        Backend.Add(inputs[0], inputs[1], y);
        // Fixed order: ((x0 + x1) + x2) + ...
        for (int i = 2; i < inputs.Count; i++) Backend.Axpy(1f, inputs[i], y);
        return y;
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<Tensor?> BackwardCoreInputs(Tensor gradOutput)
    {
        var grads = new Tensor?[InputShapes.Count];
        if (RequiresInputGradient) Array.Fill(grads, gradOutput);
        return grads;
    }
}

/// <summary>
/// Concatenation along the first per-sample axis: channels for images ((C0, H, W), (C1, H, W) to (C0 + C1, H, W)), features
/// for vectors. The other dimensions must agree. Forward and backward copy each sample's block (one device copy per
/// sample and input), in input order.
/// </summary>
public sealed class Concat : MergeLayer
{
    /// <summary>Creates the layer.</summary>
    public Concat(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Concat";

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        var first = inputShapes[0];
        int total = 0;
        foreach (var s in inputShapes)
        {
            bool same = s.Rank == first.Rank;
            for (int d = 1; same && d < s.Rank; d++) same = s[d] == first[d];
            if (!same)
                throw new ShapeMismatchException(
                    $"Concat '{Name}' joins along the first axis (channels) and needs the other dimensions equal, got {Describe(inputShapes)}.");
            total += s[0];
        }
        var dims = first.Dimensions.ToArray();
        dims[0] = total;
        return new TensorShape(dims, first.Names.ToArray());
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(IReadOnlyList<Tensor> inputs, bool training)
    {
        int n = inputs[0].Shape[0];
        var y = Buffer("y", n);
        long outSample = OutputShape.ElementCount, offset = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            long size = InputShapes[i].ElementCount;
            var block = TensorShape.Vector(checked((int)size));
            for (int s = 0; s < n; s++)
            {
                using var from = inputs[i].View(block, s * size);
                using var to = y.View(block, s * outSample + offset);
                Backend.Copy(from, to);
            }
            offset += size;
        }
        return y;
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<Tensor?> BackwardCoreInputs(Tensor gradOutput)
    {
        var grads = new Tensor?[InputShapes.Count];
        if (!RequiresInputGradient) return grads;
        int n = gradOutput.Shape[0];
        long outSample = OutputShape.ElementCount, offset = 0;
        for (int i = 0; i < grads.Length; i++)
        {
            long size = InputShapes[i].ElementCount;
            var dx = InputGradientBuffer(Shapes.Batch(InputShapes[i], n));
            var block = TensorShape.Vector(checked((int)size));
            for (int s = 0; s < n; s++)
            {
                using var from = gradOutput.View(block, s * outSample + offset);
                using var to = dx.View(block, s * size);
                Backend.Copy(from, to);
            }
            grads[i] = dx;
            offset += size;
        }
        return grads;
    }
}
