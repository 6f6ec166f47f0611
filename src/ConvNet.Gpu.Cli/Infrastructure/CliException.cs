namespace ConvNet.Gpu.Cli.Infrastructure;

/// <summary>
/// A failure the user can act on: its message is printed as one line on stderr (no stack trace unless --verbose)
/// and <see cref="ExitCode"/> becomes the process exit code.
/// </summary>
internal sealed class CliException : Exception
{
    /// <summary>Creates the error with its exit code (see <see cref="ExitCodes"/>) and a message that says what to do.</summary>
    public CliException(int exitCode, string message, Exception? inner = null) : base(message, inner)
    {
        ExitCode = exitCode;
    }

    /// <summary>The process exit code for this failure.</summary>
    public int ExitCode { get; }

    /// <summary>A usage error (exit code 2).</summary>
    public static CliException UsageError(string message) => new(ExitCodes.Usage, message);

    /// <summary>A dataset error (exit code 3).</summary>
    public static CliException DataError(string message, Exception? inner = null) => new(ExitCodes.Data, message, inner);

    /// <summary>A checkpoint error (exit code 4).</summary>
    public static CliException CheckpointError(string message, Exception? inner = null) => new(ExitCodes.Checkpoint, message, inner);

    /// <summary>A device error (exit code 5).</summary>
    public static CliException DeviceError(string message, Exception? inner = null) => new(ExitCodes.Device, message, inner);

    /// <summary>An output-directory error (exit code 6).</summary>
    public static CliException OutputError(string message, Exception? inner = null) => new(ExitCodes.Output, message, inner);
}
