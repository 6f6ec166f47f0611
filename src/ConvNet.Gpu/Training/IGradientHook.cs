using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Runs inside every training step after the backward pass and before the optimizer update, in the order the hooks were
/// added to <see cref="Trainer.GradientHooks"/>: the place to all-reduce gradients across data-parallel workers, clip
/// them, or log their norms. It is not called for a step whose update is skipped for a non-finite loss.
/// </summary>
public interface IGradientHook
{
    /// <summary>Called with this step's gradients, which the hook may change in place.</summary>
    /// <param name="parameters">The trainable parameters, in the optimizer's order; each <see cref="Parameter.Gradient"/> holds this step's gradient.</param>
    /// <param name="globalStep">Index of this step since training started (0-based).</param>
    void OnGradients(IReadOnlyList<Parameter> parameters, long globalStep);
}
