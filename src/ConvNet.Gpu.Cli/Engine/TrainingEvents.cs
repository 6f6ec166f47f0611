namespace ConvNet.Gpu.Cli.Engine;

/// <summary>Where a run stands: <paramref name="CompletedEpochs"/> whole epochs done, plus <paramref name="BatchesIntoEpoch"/> batches of the next.</summary>
internal readonly record struct TrainPosition(int CompletedEpochs, int BatchesIntoEpoch);

/// <summary>After a training batch: running means over the epoch so far.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Batch">Batches done in this epoch (1-based count, resumed batches included).</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">Mean loss over this epoch's batches trained in this process.</param>
/// <param name="Accuracy">Training accuracy over the same batches (0..1).</param>
/// <param name="ImagesPerSecond">Throughput over the same batches.</param>
internal readonly record struct BatchEvent(int Epoch, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSecond);

/// <summary>At the end of a training epoch (before evaluation).</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Mean training loss of the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy of the epoch (0..1).</param>
/// <param name="Seconds">Wall time of the epoch's training batches in this process.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
internal readonly record struct EpochEvent(int Epoch, double TrainLoss, double TrainAccuracy, double Seconds, double ImagesPerSecond);

/// <summary>How <c>Fit</c> ended.</summary>
/// <param name="Interrupted">True when cancellation stopped it at a batch boundary.</param>
/// <param name="Position">The position reached (the resume point when interrupted).</param>
internal readonly record struct FitOutcome(bool Interrupted, TrainPosition Position);

/// <summary>A full pass over a labelled set with the current weights.</summary>
/// <param name="Loss">Mean cross-entropy.</param>
/// <param name="Accuracy">Fraction correct (0..1).</param>
/// <param name="Confusion">Counts [true, predicted].</param>
/// <param name="Predicted">Predicted class per sample.</param>
/// <param name="Confidence">Softmax probability of the predicted class per sample.</param>
internal sealed record TestResult(double Loss, double Accuracy, long[,] Confusion, int[] Predicted, float[] Confidence);
