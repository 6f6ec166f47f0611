namespace ConvNet.Gpu.Cli.Infrastructure;

/// <summary>
/// The process exit codes of <c>convnet</c>, one per kind of failure so scripts can tell them apart.
/// Documented in <c>convnet --help</c> and the README.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>An unexpected internal error (rerun with --verbose for the stack trace).</summary>
    public const int InternalError = 1;

    /// <summary>Bad command line: unknown option or command, invalid number, unknown model, optimizer or device name.</summary>
    public const int Usage = 2;

    /// <summary>The dataset is missing, unreadable or corrupt.</summary>
    public const int Data = 3;

    /// <summary>A checkpoint is missing, corrupt, belongs to another model, or lacks what the command needs (e.g. its input normalization); or the ONNX model of <c>train --onnx</c> is missing or cannot be imported.</summary>
    public const int Checkpoint = 4;

    /// <summary>The requested device is not available (e.g. --device cuda without a usable GPU).</summary>
    public const int Device = 5;

    /// <summary>The output directory cannot be created or written.</summary>
    public const int Output = 6;

    /// <summary>Training diverged: the loss became NaN or infinite, grew past --max-loss-ratio times its start, or fell back to chance accuracy (lower --lr).</summary>
    public const int Diverged = 7;

    /// <summary>
    /// Distributed training failed: a rank died, hung past --collective-timeout or was started with a different
    /// configuration, or MPI is missing. The message names the rank; the last checkpoint stays loadable.
    /// </summary>
    public const int Distributed = 8;

    /// <summary>Training was interrupted (Ctrl-C); a resumable checkpoint was written (128 + SIGINT, as shells do).</summary>
    public const int Interrupted = 130;

    /// <summary>One line per code, for the help text.</summary>
    public const string Table =
        "Exit codes: 0 success, 1 internal error, 2 usage, 3 dataset, 4 checkpoint (or --onnx model), 5 device, 6 output directory, 7 training diverged, 8 distributed run failed (a rank died, hung or differs), 130 interrupted (checkpoint saved).";
}
