namespace ConvNet.Gpu.Data;

/// <summary>
/// An IDX file (the MNIST container format) is truncated or malformed. The message names the file and
/// exactly what was wrong: a bad magic number, an unsupported data type, a dimension that is zero, data that
/// ends early (how many bytes were expected and how many the file holds), a corrupt gzip stream, or image and
/// label files that do not match. It derives from <see cref="IOException"/>, so one <c>catch (IOException)</c>
/// covers a missing file and a broken one alike.
/// </summary>
public sealed class IdxFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; the message is prefixed with the path.</summary>
    /// <param name="filePath">The file (or stream name) that was being read.</param>
    /// <param name="problem">What was wrong, e.g. "bad magic 0x00000802".</param>
    /// <param name="inner">The underlying error, e.g. the gzip decoder's, if any.</param>
    public IdxFormatException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file (or stream name) that was being read.</summary>
    public string FilePath { get; }

    /// <summary>What was wrong, without the file name.</summary>
    public string Problem { get; }
}
