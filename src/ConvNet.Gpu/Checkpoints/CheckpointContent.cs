namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// What a checkpoint file holds: a <see cref="Kind"/> naming what the file is, string <see cref="Metadata"/>
/// (architecture JSON, epoch, step...), named float32 <see cref="Tensors"/> (weights, optimizer state) and named byte
/// <see cref="Blobs"/> (RNG and data-loader state). <see cref="CheckpointFile"/> stores it; what the entries mean is up to
/// the writer (see ModelCheckpoint). Keys are compared ordinally; a key may appear once per dictionary.
/// </summary>
public sealed class CheckpointContent
{
    /// <summary>Creates empty content of the given kind.</summary>
    /// <param name="kind">What the file is, e.g. "convnet.model"; non-empty.</param>
    /// <exception cref="ConvNetArgumentException"><paramref name="kind"/> is empty.</exception>
    public CheckpointContent(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (kind.Length == 0)
            throw new ConvNetArgumentException("A checkpoint kind must not be empty.", nameof(kind));
        Kind = kind;
    }

    /// <summary>What the file is, e.g. "convnet.model"; readers check it before interpreting the entries.</summary>
    public string Kind { get; }

    /// <summary>Named strings (architecture JSON, epoch, step, backend...).</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Named float32 tensors (weights, gradients' moments...).</summary>
    public IDictionary<string, CheckpointTensor> Tensors { get; } = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);

    /// <summary>Named opaque byte arrays (RNG state, data-loader position...).</summary>
    public IDictionary<string, byte[]> Blobs { get; } = new Dictionary<string, byte[]>(StringComparer.Ordinal);
}
