namespace ConvNet.Gpu.Nn;

/// <summary>
/// A layer whose GEMM epilogue can apply the activation of the layer after it (<see cref="Conv2D"/>, <see cref="Dense"/>):
/// y = act(z + b) in one pass forward, and one fused backward that takes the activation's derivative from y
/// (<see cref="IBackend.Conv2dBackward"/>, <see cref="IBackend.LinearBackward"/>). The model sets
/// <see cref="FusedEpilogue"/> for a pass (see Model.PlanFusion); the numbers are the same bits as the two layers apart.
/// </summary>
internal interface IFusedActivationHost
{
    /// <summary>The activation this layer applies for the next passes, or null for none.</summary>
    Epilogue? FusedEpilogue { get; set; }

    /// <summary>Whether this layer can take an activation now (trainable, so its fused backward has a weight gradient to write).</summary>
    bool CanFuse { get; }
}
