namespace ConvNet.Gpu.Data;

/// <summary>What a <see cref="Dataset"/>'s targets are, which decides the losses and metrics that fit them.</summary>
public enum TargetKind
{
    /// <summary>
    /// One class index per sample (<see cref="Dataset.Labels"/>, int32 in [0, classes)): softmax cross-entropy, focal
    /// loss, accuracy, top-k, precision/recall/F1, the confusion matrix.
    /// </summary>
    ClassIndex,

    /// <summary>
    /// A float tensor per sample of <see cref="Dataset.TargetShape"/> (<see cref="Dataset.Targets"/>): regression values,
    /// the input itself for an autoencoder, per-pixel masks for segmentation. MSE, L1, Huber, binary cross-entropy on
    /// masks; MSE/MAE and IoU metrics.
    /// </summary>
    Values,

    /// <summary>
    /// A multi-hot vector per sample (<see cref="Dataset.Targets"/>, one 0 or 1 per class, any number of ones): multi-label
    /// classification with binary cross-entropy on logits.
    /// </summary>
    MultiHot,
}
