namespace ConvNet.Gpu.Data;

/// <summary>
/// A dataset file (for example a CIFAR-10 binary batch) is truncated or malformed. The message names the file and what
/// was wrong: a length that is not a whole number of records, a label out of range, a missing file of the set. It
/// derives from <see cref="IOException"/>, so one <c>catch (IOException)</c> covers a missing file and a broken one alike.
/// </summary>
public sealed class DatasetFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; the message is prefixed with the path.</summary>
    /// <param name="filePath">The file that was being read.</param>
    /// <param name="problem">What was wrong, e.g. "label 12 at record 7 is not in 0..9".</param>
    public DatasetFormatException(string filePath, string problem) : base($"{filePath}: {problem}")
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file that was being read.</summary>
    public string FilePath { get; }

    /// <summary>What was wrong, without the file name.</summary>
    public string Problem { get; }
}
