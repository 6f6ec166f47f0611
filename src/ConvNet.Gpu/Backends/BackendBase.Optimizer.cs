namespace ConvNet.Gpu;

// The Optimizer op family of IBackend: Per-tensor optimizer steps (CpuBackend.Optimizer.cs, CudaBackend.Optimizer.cs;
// kernels/optimizer.cu). Each public op checks its arguments (OpChecks) before any work, then calls its Core method,
// which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov)
    {
        using var use = _use.Enter("SgdStep");
        const string op = "SgdStep";
        CheckOptimizerTensors(op, param, ("grad", grad), ("velocity", velocity));
        OpChecks.Finite(op, "learningRate", learningRate);
        CheckSgdSettings(op, momentum, weightDecay, nesterov);
        SgdStepCore(param, grad, velocity, learningRate, momentum, weightDecay, nesterov);
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, bool decoupledWeightDecay, int step)
    {
        using var use = _use.Enter("AdamStep");
        const string op = "AdamStep";
        CheckOptimizerTensors(op, param, ("grad", grad), ("m", m), ("v", v));
        OpChecks.Finite(op, "learningRate", learningRate);
        CheckAdamSettings(op, beta1, beta2, epsilon, weightDecay);
        OpChecks.Positive(op, "step", step);
        AdamStepCore(param, grad, m, v, learningRate, beta1, beta2, epsilon, weightDecay, decoupledWeightDecay, step);
    }

    private static void CheckSgdSettings(string op, float momentum, float weightDecay, bool nesterov)
    {
        if (!(momentum >= 0f) || !float.IsFinite(momentum))
            throw new ConvNetArgumentException($"{op}: momentum must be finite and >= 0, got {momentum}.", nameof(momentum));
        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
            throw new ConvNetArgumentException($"{op}: weight decay must be finite and >= 0, got {weightDecay}.", nameof(weightDecay));
        if (nesterov && momentum <= 0f)
            throw new ConvNetArgumentException($"{op}: Nesterov momentum requires momentum > 0, got momentum={momentum}.", nameof(nesterov));
    }

    private static void CheckAdamSettings(string op, float beta1, float beta2, float epsilon, float weightDecay)
    {
        if (!(beta1 >= 0f && beta1 < 1f) || !(beta2 >= 0f && beta2 < 1f))
            throw new ConvNetArgumentException($"{op}: betas must be in [0, 1), got beta1={beta1}, beta2={beta2}.");
        if (!(epsilon > 0f) || !float.IsFinite(epsilon))
            throw new ConvNetArgumentException($"{op}: epsilon must be positive and finite, got {epsilon}.", nameof(epsilon));
        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
            throw new ConvNetArgumentException($"{op}: weight decay must be finite and >= 0, got {weightDecay}.", nameof(weightDecay));
    }

    private void CheckOptimizerTensors(string op, Tensor param, params (string Name, Tensor T)[] state)
    {
        OpChecks.Float(this, op, "param", param);
        foreach (var (name, t) in state)
        {
            OpChecks.Float(this, op, name, t);
            OpChecks.SameCount(op, "param", param, name, t);
        }
    }

    /// <summary>SGD step without checks.</summary>
    protected abstract void SgdStepCore(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov);
    /// <summary>Adam step without checks.</summary>
    protected abstract void AdamStepCore(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2,
        float epsilon, float weightDecay, bool decoupledWeightDecay, int step);
}
