namespace ConvNet.Gpu;

// The SoftmaxLoss op family of IBackend: Softmax and the classification losses (CpuBackend.SoftmaxLoss.cs,
// CudaBackend.SoftmaxLoss.cs; kernels/softmax_loss.cu). Each public op checks its arguments (OpChecks) before any work,
// then calls its Core method, which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void SoftmaxForward(Tensor x, Tensor y)
    {
        using var use = _use.Enter("SoftmaxForward");
        OpChecks.Float(this, "SoftmaxForward", "x", x);
        OpChecks.Float(this, "SoftmaxForward", "y", y);
        OpChecks.Rank("SoftmaxForward", "x", x, 2, 2);
        OpChecks.Dims("SoftmaxForward", "y", y, x.Shape);
        SoftmaxForwardCore(x, y);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor gradY, Tensor gradX)
    {
        using var use = _use.Enter("SoftmaxBackward");
        OpChecks.Float(this, "SoftmaxBackward", "y", y);
        OpChecks.Float(this, "SoftmaxBackward", "gradY", gradY);
        OpChecks.Float(this, "SoftmaxBackward", "gradX", gradX);
        OpChecks.Rank("SoftmaxBackward", "y", y, 2, 2);
        OpChecks.Dims("SoftmaxBackward", "gradY", gradY, y.Shape);
        OpChecks.Dims("SoftmaxBackward", "gradX", gradX, y.Shape);
        SoftmaxBackwardCore(y, gradY, gradX);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses)
    {
        using var use = _use.Enter("SoftmaxCrossEntropyForward");
        CheckClassification("SoftmaxCrossEntropyForward", logits, labels, probabilities, losses);
        SoftmaxCrossEntropyForwardCore(logits, labels, probabilities, losses);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale)
    {
        using var use = _use.Enter("SoftmaxCrossEntropyBackward");
        CheckClassification("SoftmaxCrossEntropyBackward", probabilities, labels, gradLogits, null);
        OpChecks.Finite("SoftmaxCrossEntropyBackward", "scale", scale);
        SoftmaxCrossEntropyBackwardCore(probabilities, labels, gradLogits, scale);
    }

    /// <inheritdoc/>
    public void FocalLossForward(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses)
    {
        using var use = _use.Enter("FocalLossForward");
        CheckClassification("FocalLossForward", logits, labels, probabilities, losses);
        CheckGamma("FocalLossForward", gamma);
        FocalLossForwardCore(logits, labels, gamma, probabilities, losses);
    }

    /// <inheritdoc/>
    public void FocalLossBackward(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale)
    {
        using var use = _use.Enter("FocalLossBackward");
        CheckClassification("FocalLossBackward", probabilities, labels, gradLogits, null);
        CheckGamma("FocalLossBackward", gamma);
        OpChecks.Finite("FocalLossBackward", "scale", scale);
        FocalLossBackwardCore(probabilities, labels, gamma, gradLogits, scale);
    }

    private static void CheckGamma(string op, float gamma)
    {
        if (!(gamma >= 0) || !float.IsFinite(gamma))
            throw new ConvNetArgumentException($"{op}: focal-loss gamma must be finite and >= 0, got {gamma}.", nameof(gamma));
    }

    private void CheckClassification(string op, Tensor scores, Tensor labels, Tensor other, Tensor? losses)
    {
        OpChecks.Float(this, op, "logits/probabilities", scores);
        OpChecks.Rank(op, "logits/probabilities", scores, 2, 2);
        OpChecks.Int(this, op, "labels", labels);
        OpChecks.Count(op, "labels", labels, scores.Shape[0], $"one label per row of {scores.Shape}");
        OpChecks.Float(this, op, "output", other);
        OpChecks.Dims(op, "output", other, scores.Shape);
        if (losses is not null)
        {
            OpChecks.Float(this, op, "losses", losses);
            OpChecks.Count(op, "losses", losses, scores.Shape[0], $"one loss per row of {scores.Shape}");
        }
    }

    /// <summary>Softmax forward without checks.</summary>
    protected abstract void SoftmaxForwardCore(Tensor x, Tensor y);
    /// <summary>Softmax backward without checks.</summary>
    protected abstract void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX);
    /// <summary>Softmax cross-entropy forward without checks.</summary>
    protected abstract void SoftmaxCrossEntropyForwardCore(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses);
    /// <summary>Softmax cross-entropy backward without checks.</summary>
    protected abstract void SoftmaxCrossEntropyBackwardCore(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale);
    /// <summary>Focal loss forward without checks.</summary>
    protected abstract void FocalLossForwardCore(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses);
    /// <summary>Focal loss backward without checks.</summary>
    protected abstract void FocalLossBackwardCore(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale);
}
