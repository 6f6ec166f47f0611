namespace ConvNet.Gpu;

/// <summary>Element type of a <see cref="Tensor"/>. Both types are 4 bytes wide.</summary>
public enum DataType
{
    /// <summary>IEEE-754 single precision; the type of activations, weights and gradients.</summary>
    Float32 = 0,

    /// <summary>32-bit signed integer; used for class labels and max-pool argmax masks.</summary>
    Int32 = 1,
}
