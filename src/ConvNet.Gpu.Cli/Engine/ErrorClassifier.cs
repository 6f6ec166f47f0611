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
            ConvNet.Gpu.Training.TrainingDivergedException d => (ExitCodes.Diverged, DivergenceMessage(d)),
            ConvNet.Gpu.Distributed.CollectiveException c => (ExitCodes.Distributed, c.Message),
            _ when EngineErrors.IsCheckpointError(ex) => (ExitCodes.Checkpoint, ex.Message),
            _ when EngineErrors.IsDeviceError(ex) => (ExitCodes.Device, ex.Message),
            _ when EngineErrors.IsDataError(ex) => (ExitCodes.Data, ex.Message),
            ConvNetArgumentException => (ExitCodes.Usage, ex.Message),
            ConvNet.Gpu.Onnx.OnnxExportException => (ExitCodes.Usage, ex.Message),
            OutOfMemoryException => (ExitCodes.InternalError, "out of host memory; try a smaller --batch-size or --limit."),
            _ => (ExitCodes.InternalError, $"internal error ({ex.GetType().Name}): {ex.Message}"),
        };
    }

    /// <summary>The library's message, with the CLI's options named instead of the library's settings.</summary>
    private static string DivergenceMessage(ConvNet.Gpu.Training.TrainingDivergedException d)
    {
        string message = d.Message;
        int hint = message.IndexOf(" Lower the learning rate", StringComparison.Ordinal);
        if (hint >= 0) message = message[..hint];
        string option = d.Kind == ConvNet.Gpu.Training.DivergenceKind.CollapsedToChance ? "--allow-chance-accuracy" : "--max-loss-ratio";
        return $"{char.ToLowerInvariant(message[0])}{message[1..]} Try a smaller --lr (or change the rule with {option}); "
            + "the checkpoints of the last completed epoch are kept.";
    }
}
