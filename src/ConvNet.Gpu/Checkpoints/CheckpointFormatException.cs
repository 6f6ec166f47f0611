namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// A checkpoint file cannot be read: it is truncated, corrupt (a checksum does not match), not a checkpoint at all
/// (wrong magic), or written in a format version this build does not know. The message names the file, what was
/// expected and what was found. It derives from <see cref="IOException"/>.
/// </summary>
public sealed class CheckpointFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; the message is prefixed with the path.</summary>
    /// <param name="filePath">The checkpoint file.</param>
    /// <param name="problem">What was wrong: what was expected and what was found.</param>
    public CheckpointFormatException(string filePath, string problem)
        : base($"{filePath}: {problem}")
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; }

    /// <summary>What was wrong, without the file name.</summary>
    public string Problem { get; }
}
