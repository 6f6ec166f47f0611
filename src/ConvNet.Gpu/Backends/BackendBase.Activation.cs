namespace ConvNet.Gpu;

// The Activation op family of IBackend: Point-wise activations (CpuBackend.Activation.cs, CudaBackend.Activation.cs;
// kernels/activation.cu). Each public op checks its arguments (OpChecks) before any work, then calls its Core method,
// which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, float alpha, Tensor x, Tensor y)
    {
        using var use = _use.Enter("ActivationForward");
        CheckActivation("ActivationForward", kind, alpha);
        OpChecks.Float(this, "ActivationForward", "x", x);
        OpChecks.Float(this, "ActivationForward", "y", y);
        OpChecks.SameCount("ActivationForward", "x", x, "y", y);
        ActivationForwardCore(kind, alpha, x, y);
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX)
    {
        using var use = _use.Enter("ActivationBackward");
        const string op = "ActivationBackward";
        CheckActivation(op, kind, alpha);
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Float(this, op, "gradY", gradY);
        OpChecks.Float(this, op, "gradX", gradX);
        OpChecks.SameCount(op, "x", x, "y", y);
        OpChecks.SameCount(op, "x", x, "gradY", gradY);
        OpChecks.SameCount(op, "x", x, "gradX", gradX);
        ActivationBackwardCore(kind, alpha, x, y, gradY, gradX);
    }

    private static void CheckActivation(string op, ActivationKind kind, float alpha)
    {
        if (!Enum.IsDefined(kind)) throw new ConvNetArgumentException($"{op}: unknown activation kind {(int)kind}.", nameof(kind));
        OpChecks.Finite(op, "alpha", alpha);
    }

    /// <summary>Activation forward without checks.</summary>
    protected abstract void ActivationForwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y);
    /// <summary>Activation backward without checks.</summary>
    protected abstract void ActivationBackwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX);
}
