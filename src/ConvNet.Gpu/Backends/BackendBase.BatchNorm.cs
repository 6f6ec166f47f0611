namespace ConvNet.Gpu;

// The BatchNorm op family of IBackend: Batch normalization (CpuBackend.BatchNorm.cs, CudaBackend.BatchNorm.cs;
// kernels/batchnorm.cu). Each public op checks its arguments (OpChecks) before any work, then calls its Core method,
// which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void BatchNorm2dForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean, Tensor saveInvStd,
        Tensor runningMean, Tensor runningVar, float momentum, float epsilon)
    {
        using var use = _use.Enter("BatchNorm2dForwardTraining");
        const string op = "BatchNorm2dForwardTraining";
        int c = CheckBatchNormInput(op, x, epsilon);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Dims(op, "y", y, x.Shape);
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ConvNetArgumentException($"{op}: momentum must be in [0, 1], got {momentum}.", nameof(momentum));
        CheckChannelVectors(op, c, ("gamma", gamma), ("beta", beta), ("saveMean", saveMean), ("saveInvStd", saveInvStd),
            ("runningMean", runningMean), ("runningVar", runningVar));
        BatchNorm2dForwardTrainingCore(x, gamma, beta, y, saveMean, saveInvStd, runningMean, runningVar, momentum, epsilon);
    }

    /// <inheritdoc/>
    public void BatchNorm2dForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float epsilon, Tensor y)
    {
        using var use = _use.Enter("BatchNorm2dForwardInference");
        const string op = "BatchNorm2dForwardInference";
        int c = CheckBatchNormInput(op, x, epsilon);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Dims(op, "y", y, x.Shape);
        CheckChannelVectors(op, c, ("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar));
        BatchNorm2dForwardInferenceCore(x, gamma, beta, runningMean, runningVar, epsilon, y);
    }

    /// <inheritdoc/>
    public void BatchNorm2dBackward(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate)
    {
        using var use = _use.Enter("BatchNorm2dBackward");
        const string op = "BatchNorm2dBackward";
        int c = CheckBatchNormInput(op, x, 1e-5f);
        OpChecks.Float(this, op, "gradY", gradY);
        OpChecks.Float(this, op, "gradX", gradX);
        OpChecks.Dims(op, "gradY", gradY, x.Shape);
        OpChecks.Dims(op, "gradX", gradX, x.Shape);
        CheckChannelVectors(op, c, ("gamma", gamma), ("saveMean", saveMean), ("saveInvStd", saveInvStd),
            ("gradGamma", gradGamma), ("gradBeta", gradBeta));
        BatchNorm2dBackwardCore(x, gradY, gamma, saveMean, saveInvStd, gradX, gradGamma, gradBeta, accumulate);
    }

    private int CheckBatchNormInput(string op, Tensor x, float epsilon)
    {
        OpChecks.Float(this, op, "x", x);
        OpChecks.Rank(op, "x", x, 2, 4);
        if (!(epsilon > 0f) || !float.IsFinite(epsilon))
            throw new ConvNetArgumentException($"{op}: epsilon must be positive and finite, got {epsilon}.", nameof(epsilon));
        return x.Shape[1];
    }

    private void CheckChannelVectors(string op, int channels, params (string Name, Tensor T)[] vectors)
    {
        foreach (var (name, t) in vectors)
        {
            OpChecks.Float(this, op, name, t);
            OpChecks.Count(op, name, t, channels, $"one value per channel (C={channels})");
        }
    }

    /// <summary>Batch-norm training forward without checks; x viewed as (N, C, rest).</summary>
    protected abstract void BatchNorm2dForwardTrainingCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean,
        Tensor saveInvStd, Tensor runningMean, Tensor runningVar, float momentum, float epsilon);
    /// <summary>Batch-norm inference forward without checks.</summary>
    protected abstract void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, float epsilon, Tensor y);
    /// <summary>Batch-norm backward without checks.</summary>
    protected abstract void BatchNorm2dBackwardCore(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate);
}
