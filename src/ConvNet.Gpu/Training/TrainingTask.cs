using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Training;

/// <summary>
/// The checks that a model, a loss and a dataset make one task, run before any batch by Fit, Evaluate and the
/// trainer's host TrainStep, so a mismatch fails at once with the three named instead of deep inside a kernel:
/// <list type="bullet">
/// <item>a <see cref="ClassificationLoss"/> (softmax cross-entropy, focal) takes class-index targets and a model that
/// outputs one score per class (F), with at least as many scores as the data has classes;</item>
/// <item>any other loss (MSE, L1, Huber, binary cross-entropy on logits) takes float targets (values, masks, the input
/// of an autoencoder, multi-hot vectors) of exactly the model's per-sample output shape; binary cross-entropy also
/// needs every target in [0, 1], checked here on the host.</item>
/// </list>
/// </summary>
internal static class TrainingTask
{
    /// <summary>Throws when <paramref name="data"/> cannot be fed to <paramref name="model"/> and scored by <paramref name="loss"/>.</summary>
    /// <param name="model">The model that gets the samples.</param>
    /// <param name="loss">The loss that scores its outputs.</param>
    /// <param name="data">The samples and targets.</param>
    /// <param name="what">"training", "validation", "evaluation": names the data in messages.</param>
    /// <param name="sampleShape">The shape of the samples the model gets, when transforms change the data's (a crop); default the data's.</param>
    /// <param name="targetShape">Likewise for float targets that move with the input.</param>
    /// <exception cref="ShapeMismatchException">The samples or targets do not have the model's input or output shape.</exception>
    /// <exception cref="ConvNetArgumentException">The kind of targets does not fit the loss, or a binary target is outside [0, 1].</exception>
    public static void Check(Model model, Loss loss, Dataset data, string what, TensorShape? sampleShape = null, TensorShape? targetShape = null)
    {
        sampleShape ??= data.SampleShape;
        targetShape ??= data.TargetShape;
        if (!sampleShape.SameDimensions(model.InputShape))
            throw new ShapeMismatchException(
                $"The {what} samples have shape {sampleShape}{(ReferenceEquals(sampleShape, data.SampleShape) ? "" : $" after the transforms (the data's are {data.SampleShape})")} " +
                $"but model '{model.Name}' expects {model.InputShape}.");
        if (model.OutputShapes.Count != 1)
            throw new ConvNetArgumentException(
                $"Model '{model.Name}' has {model.OutputShapes.Count} outputs ({string.Join(", ", model.OutputShapes)}); the trainer and evaluator take single-output models.");
        var output = model.OutputShape;
        if (loss is ClassificationLoss)
        {
            if (!data.HasLabels)
                throw new ConvNetArgumentException(
                    $"The loss '{loss.Name}' takes class-index targets, but the {what} data '{data.Source}' has {data.TargetKind} targets of shape {data.TargetShape}. " +
                    (data.TargetKind == TargetKind.MultiHot
                        ? "For multi-label data use BinaryCrossEntropyWithLogitsLoss."
                        : "For float targets use MeanSquaredErrorLoss, L1Loss, HuberLoss or (masks in [0, 1]) BinaryCrossEntropyWithLogitsLoss."));
            if (output.Rank != 1)
                throw new ShapeMismatchException(
                    $"Model '{model.Name}' outputs {output}, not class scores (F), which the loss '{loss.Name}' needs; end a classifier with Flatten and Dense, " +
                    "or use a loss on float targets (MSE, L1, Huber, binary cross-entropy) for an autoencoder, regression or segmentation model.");
            if (data.ClassCount > output[0])
                throw new ShapeMismatchException($"The {what} data has {data.ClassCount} classes but model '{model.Name}' outputs {output[0]} scores.");
            return;
        }
        if (data.HasLabels)
            throw new ConvNetArgumentException(
                $"The loss '{loss.Name}' takes float targets shaped like the model's output {output}, but the {what} data '{data.Source}' has class-index labels. " +
                "Use SoftmaxCrossEntropyLoss or FocalLoss for class indices, or build the data with float targets (Dataset.FromArrays, Dataset.Autoencoder, Dataset.MultiLabel).");
        if (!targetShape!.SameDimensions(output))
            throw new ShapeMismatchException(
                $"The {what} targets have shape {targetShape} but model '{model.Name}' outputs {output} per sample; the loss '{loss.Name}' compares them element by element.");
        if (loss is BinaryCrossEntropyWithLogitsLoss && data.TargetKind != TargetKind.MultiHot)
        {
            var t = data.Targets.Span;
            for (int i = 0; i < t.Length; i++)
                if (!(t[i] >= 0f && t[i] <= 1f))
                    throw new ConvNetArgumentException(
                        $"The loss '{loss.Name}' needs targets in [0, 1], but the {what} data '{data.Source}' has {t[i]} at sample {i / data.TargetSize} " +
                        $"(flat index {i % data.TargetSize} of {data.TargetShape}).");
        }
    }

    /// <summary>
    /// Throws when a name in <paramref name="metrics"/> is unknown or cannot score this task; returns the metrics, one
    /// instance per name.
    /// </summary>
    public static Metric[] CreateMetrics(IReadOnlyList<string> metrics, Dataset data, Model model)
    {
        var result = new Metric[metrics.Count];
        for (int i = 0; i < metrics.Count; i++)
        {
            if (metrics.Take(i).Contains(metrics[i], StringComparer.Ordinal))
                throw new ConvNetArgumentException($"The metric '{metrics[i]}' is listed twice.", nameof(metrics));
            if (metrics[i] is "accuracy" or "loss")
                throw new ConvNetArgumentException($"'{metrics[i]}' is always reported; list only the extra metrics (top5_accuracy, precision, recall, f1, mse, mae, iou).", nameof(metrics));
            result[i] = Metric.FromName(metrics[i]);
            result[i].CheckCompatible(data.TargetKind, model.OutputShape);
        }
        return result;
    }

    /// <summary>Whether <paramref name="loss"/> has a notion of a correct prediction (an accuracy).</summary>
    public static bool HasAccuracy(Loss loss) => loss is ClassificationLoss or BinaryCrossEntropyWithLogitsLoss;

    /// <summary>
    /// The metric names an epoch of <see cref="Trainer.Fit(Dataset, TrainingOptions)"/> reports with these options and
    /// loss: "loss", "accuracy" (when the loss has one), the extra metrics, and their "val_" forms when there is validation data.
    /// </summary>
    public static List<string> EpochMetricNames(Loss loss, TrainingOptions options)
    {
        var names = new List<string> { "loss" };
        if (HasAccuracy(loss)) names.Add("accuracy");
        names.AddRange(options.Metrics);
        if (options.Validation is not null) names.AddRange(names.Select(n => "val_" + n).ToArray());
        return names;
    }

    /// <summary>Throws, before any batch, when a callback monitors a metric that no epoch of this run will report.</summary>
    public static void CheckMonitoredNames(Loss loss, TrainingOptions options)
    {
        var available = EpochMetricNames(loss, options);
        foreach (var callback in options.Callbacks)
        {
            ArgumentNullException.ThrowIfNull(callback, nameof(options.Callbacks));
            foreach (var name in callback.MonitoredMetrics)
            {
                if (available.Contains(name, StringComparer.Ordinal)) continue;
                string why = name.StartsWith("val_", StringComparison.Ordinal) && options.Validation is null
                    && available.Contains(name[4..], StringComparer.Ordinal)
                    ? " because there is no validation data (set TrainingOptions.Validation)"
                    : MetricNames.Suggest(name, available);
                throw new ConvNetArgumentException(
                    $"{callback.GetType().Name} monitors '{name}', which this run does not report{why}; it reports {string.Join(", ", available)}.",
                    nameof(options));
            }
        }
    }
}
