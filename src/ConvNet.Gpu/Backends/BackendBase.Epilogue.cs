namespace ConvNet.Gpu;

// The fused layer ops (IBackend "fused layer ops"): argument checks, and default implementations that compose the
// backend's own Core ops in the order the unfused layers call them, so a backend that does not override them (the CPU
// backend) gives exactly the bits of the unfused path. The CUDA backend overrides the Core methods with fused kernels.
public abstract partial class BackendBase
{
    private readonly Dictionary<string, Tensor> _scratch = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry geometry, Epilogue epilogue)
    {
        using var use = _use.Enter("Conv2dForward");
        const string op = "Conv2dForward";
        CheckConv2dForward(op, input, weight, bias, output, geometry);
        CheckEpilogue(op, epilogue, needsBackward: false);
        Conv2dForwardCore(input, weight, bias, output, geometry, epilogue);
    }

    /// <inheritdoc/>
    public void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Epilogue epilogue)
    {
        using var use = _use.Enter("LinearForward");
        const string op = "LinearForward";
        CheckLinear(op, input, weight, bias, "output", output);
        CheckEpilogue(op, epilogue, needsBackward: false);
        LinearForwardCore(input, weight, bias, output, epilogue);
    }

    /// <inheritdoc/>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue, Tensor gradWeight,
        Tensor? gradBias, Tensor? gradInput, Conv2dGeometry geometry, bool accumulate)
    {
        using var use = _use.Enter("Conv2dBackward");
        const string op = "Conv2dBackward";
        GeometryConsistency.Check(op, geometry);
        CheckConvInput(op, "input", input, geometry);
        CheckConvWeight(op, "weight", weight, geometry);
        CheckConvOutput(op, "gradOutput", gradOutput, geometry);
        CheckEpilogue(op, epilogue, needsBackward: true);
        if (epilogue.Activation is not null)
        {
            if (output is null) throw new ConvNetArgumentException($"{op}: the epilogue has an activation ({epilogue}), so the forward output y is needed.", nameof(output));
            CheckConvOutput(op, "output", output, geometry);
        }
        CheckConvWeight(op, "gradWeight", gradWeight, geometry);
        if (gradBias is not null)
        {
            OpChecks.Float(this, op, "gradBias", gradBias);
            OpChecks.Dims(op, "gradBias", gradBias, TensorShape.Vector(geometry.K));
        }
        if (gradInput is not null) CheckConvInput(op, "gradInput", gradInput, geometry);
        Conv2dBackwardCore(input, weight, output, gradOutput, epilogue, gradWeight, gradBias, gradInput, geometry, accumulate);
    }

    /// <inheritdoc/>
    public void LinearBackward(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue, Tensor gradWeight,
        Tensor? gradBias, Tensor? gradInput, bool accumulate)
    {
        using var use = _use.Enter("LinearBackward");
        const string op = "LinearBackward";
        var (n, _, u) = CheckLinear(op, input, weight, gradBias, "gradOutput", gradOutput);
        CheckEpilogue(op, epilogue, needsBackward: true);
        if (epilogue.Activation is not null)
        {
            if (output is null) throw new ConvNetArgumentException($"{op}: the epilogue has an activation ({epilogue}), so the forward output y is needed.", nameof(output));
            OpChecks.Float(this, op, "output", output);
            OpChecks.Dims(op, "output", output, TensorShape.Matrix(n, u));
        }
        OpChecks.Float(this, op, "gradWeight", gradWeight);
        OpChecks.Dims(op, "gradWeight", gradWeight, weight.Shape);
        if (gradInput is not null)
        {
            OpChecks.Float(this, op, "gradInput", gradInput);
            OpChecks.Dims(op, "gradInput", gradInput, input.Shape);
        }
        LinearBackwardCore(input, weight, output, gradOutput, epilogue, gradWeight, gradBias, gradInput, accumulate);
    }

    // Input (N, ...) of F elements per sample, weight (U, F), optional bias (U), y (N, U); returns (N, F, U).
    private (int N, int F, int U) CheckLinear(string op, Tensor input, Tensor weight, Tensor? bias, string yName, Tensor y)
    {
        OpChecks.Float(this, op, "input", input);
        OpChecks.Float(this, op, "weight", weight);
        OpChecks.Float(this, op, yName, y);
        OpChecks.Rank(op, "weight", weight, 2, 2);
        OpChecks.Rank(op, "input", input, 2, 4);
        int n = input.Shape[0], u = weight.Shape[0], f = weight.Shape[1];
        if (input.ElementCount != (long)n * f)
            throw new ShapeMismatchException($"{op}: input {input.Shape} has {input.ElementCount / Math.Max(n, 1)} features per sample but weight {weight.Shape} expects {f}.");
        OpChecks.Dims(op, yName, y, TensorShape.Matrix(n, u));
        if (bias is not null)
        {
            OpChecks.Float(this, op, "bias", bias);
            if (bias.Rank != 1 || bias.Shape[0] != u)
                throw new ShapeMismatchException($"{op}: expected a bias of {u} elements for weight {weight.Shape}, got {bias.Shape}.");
        }
        return (n, f, u);
    }

    private static void CheckEpilogue(string op, Epilogue epilogue, bool needsBackward)
    {
        if (epilogue.Activation is not { } kind) return;
        if (!Enum.IsDefined(kind)) throw new ConvNetArgumentException($"{op}: unknown activation kind {(int)kind}.", nameof(epilogue));
        OpChecks.Finite(op, "epilogue alpha", epilogue.Alpha);
        if (needsBackward && !epilogue.CanDifferentiateFromOutput)
            throw new ConvNetArgumentException(
                $"{op}: the backward pass takes the activation's derivative from the output y, which needs alpha >= 0 for {kind}; got alpha = {epilogue.Alpha}. Keep such an activation as a separate layer.",
                nameof(epilogue));
    }

    /// <summary>Convolution forward with an epilogue, without checks: the unfused convolution (bias included), then the activation in place.</summary>
    protected virtual void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g, Epilogue epilogue)
    {
        Conv2dForwardCore(input, weight, bias, output, g);
        if (epilogue.Activation is { } kind) ActivationForwardCore(kind, epilogue.Alpha, output, output);
    }

    /// <summary>Dense forward without checks: GEMM, bias add, activation in place (as the unfused Dense and activation layers).</summary>
    protected virtual void LinearForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Epilogue epilogue)
    {
        int n = input.Shape[0], u = weight.Shape[0], f = weight.Shape[1];
        GemmCore(false, true, n, u, f, 1f, input, weight, 0f, output);
        if (bias is not null) BiasAddCore(output, bias);
        if (epilogue.Activation is { } kind) ActivationForwardCore(kind, epilogue.Alpha, output, output);
    }

    /// <summary>
    /// Convolution layer backward without checks: dz = act'(y) * dy into a scratch buffer (ActivationBackward with y standing
    /// in for x), then backward-weights, bias gradient and backward-data from dz, as the unfused layers run them.
    /// </summary>
    protected virtual void Conv2dBackwardCore(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue,
        Tensor gradWeight, Tensor? gradBias, Tensor? gradInput, Conv2dGeometry g, bool accumulate)
    {
        var dz = PreActivationGradient(output, gradOutput, epilogue);
        Conv2dBackwardWeightsCore(input, dz, gradWeight, g, accumulate);
        if (gradBias is not null) BiasGradientCore(dz, gradBias, accumulate);
        if (gradInput is not null) Conv2dBackwardDataCore(dz, weight, gradInput, g);
    }

    /// <summary>Dense layer backward without checks: dz as for convolution, then dW = dzᵀ x, the bias gradient and dx = dz W.</summary>
    protected virtual void LinearBackwardCore(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue,
        Tensor gradWeight, Tensor? gradBias, Tensor? gradInput, bool accumulate)
    {
        int n = input.Shape[0], u = weight.Shape[0], f = weight.Shape[1];
        var dz = PreActivationGradient(output, gradOutput, epilogue);
        GemmCore(true, false, u, f, n, 1f, dz, input, accumulate ? 1f : 0f, gradWeight);
        if (gradBias is not null) BiasGradientCore(dz, gradBias, accumulate);
        if (gradInput is not null) GemmCore(false, false, n, f, u, 1f, dz, weight, 0f, gradInput);
    }

    // dL/dz for y = act(z): gradOutput itself without an activation, else act'(from y) * gradOutput in a scratch tensor.
    private Tensor PreActivationGradient(Tensor? output, Tensor gradOutput, Epilogue epilogue)
    {
        if (epilogue.Activation is not { } kind) return gradOutput;
        var dz = Scratch("pre-activation gradient", gradOutput.Shape, DataType.Float32);
        ActivationBackwardCore(kind, epilogue.Alpha, output!, output!, gradOutput, dz);
        return dz;
    }

    /// <summary>
    /// A tensor of exactly <paramref name="shape"/> kept by the backend for the default compositions (reallocated when the
    /// shape changes, freed with the backend). One per key: callers must not hold it across another op that uses the key.
    /// </summary>
    private Tensor Scratch(string key, TensorShape shape, DataType dataType)
    {
        if (_scratch.TryGetValue(key, out var t) && t.Shape.SameDimensions(shape) && t.DataType == dataType && !t.IsDisposed) return t;
        t?.Dispose();
        using var scope = new TensorScope();
        t = scope.Keep(Allocate(shape, dataType));
        _scratch[key] = t;
        return t;
    }

    /// <summary>Zeroes every 32-bit word of <paramref name="t"/> (any data type): a queued fill, no host wait.</summary>
    internal void ZeroWords(Tensor t)
    {
        using var use = _use.Enter("ZeroWords");
        OpChecks.Owned(this, "ZeroWords", "t", t);
        FillCore(t, 0f);
    }

    private void DisposeScratch()
    {
        foreach (var t in _scratch.Values) t.Dispose();
        _scratch.Clear();
    }
}
