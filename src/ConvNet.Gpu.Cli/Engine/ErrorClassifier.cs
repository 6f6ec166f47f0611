using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>
/// Maps an exception that escaped a command to its exit code and the one-line message shown on stderr.
/// Commands already wrap the failures they expect in <see cref="CliException"/>; this is the safety net for the rest.
/// </summary>
internal static class ErrorClassifier
{
    /// <summary>The exit code and message for <paramref name="exception"/>.</summary>
    public static (int ExitCode, string Message) Classify(Exception exception)
    {
        Exception ex = exception is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : exception;
        return ex switch
        {
            CliException cli => (cli.ExitCode, cli.Message),
            OperationCanceledException => (ExitCodes.Interrupted, "cancelled."),
            ConvNet.Gpu.Training.NonFiniteLossException d => (ExitCodes.Diverged, FormattableString.Invariant(
                $"training diverged: the loss became {d.Loss} at epoch {d.Epoch + 1}, batch {d.Batch + 1} (step {d.Step + 1}), before that batch's update. Try a smaller --lr.")),
            _ when EngineErrors.IsCheckpointError(ex) => (ExitCodes.Checkpoint, ex.Message),
            _ when EngineErrors.IsDeviceError(ex) => (ExitCodes.Device, ex.Message),
            _ when EngineErrors.IsDataError(ex) => (ExitCodes.Data, ex.Message),
            ConvNetArgumentException => (ExitCodes.Usage, ex.Message),
            ConvNet.Gpu.Onnx.OnnxExportException => (ExitCodes.Usage, ex.Message),
            OutOfMemoryException => (ExitCodes.InternalError, "out of host memory; try a smaller --batch-size or --limit."),
            _ => (ExitCodes.InternalError, $"internal error ({ex.GetType().Name}): {ex.Message}"),
        };
    }
}
