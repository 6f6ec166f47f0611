using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Evaluation and prediction of a single-input model on host data, batch by batch in inference mode (dropout off,
/// batch norm on its running statistics), for every task: classifiers (class indices: loss, accuracy, confusion
/// matrix), multi-label models and segmentation masks (binary cross-entropy on logits), regression and autoencoders
/// (MSE, L1, Huber). Every Evaluate and Predict in the library (the <see cref="Trainer"/>'s, validation during
/// <c>Fit</c>, and the <see cref="ModelInferenceExtensions"/> on a model) runs through here.
/// </summary>
public static partial class Evaluator
{
    /// <summary>
    /// Loss, accuracy and confusion matrix on labelled host data (images: count x input sample, row-major). The loss
    /// is <paramref name="loss"/> (default softmax cross-entropy) on the model's logits, or the negative log-likelihood
    /// of the probabilities when the model ends in <see cref="Softmax"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The image count does not match the labels or the model's input.</exception>
    /// <exception cref="ConvNetArgumentException">A label is out of range, or the batch size is not positive.</exception>
    /// <exception cref="InvalidOperationException">The model does not output class scores (F).</exception>
    public static EvaluationResult Evaluate(Model model, ReadOnlySpan<float> images, ReadOnlySpan<int> labels, int batchSize = 256,
        ClassificationLoss? loss = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return EvaluateClasses(model, images, labels, batchSize, loss, []);
    }

    // Class indices: the loss, the confusion matrix and the extra metrics (which see the model's raw outputs).
    private static EvaluationResult EvaluateClasses(Model model, ReadOnlySpan<float> images, ReadOnlySpan<int> labels, int batchSize,
        ClassificationLoss? loss, Metric[] metrics)
    {
        using var use = model.UseGuard.Enter("Evaluate");
        int classes = ClassCount(model);
        int count = labels.Length;
        long sample = model.InputShape.ElementCount;
        if (count < 1)
            throw new ConvNetArgumentException($"Evaluate: the labelled data is empty (0 labels, {images.Length} floats); there is nothing to evaluate.", nameof(labels));
        if (images.Length != count * sample)
            throw new ShapeMismatchException($"Evaluate: expected {count} samples of {model.InputShape} ({count * sample} floats) for {count} labels, got {images.Length} floats.");
        if (batchSize < 1) throw new ConvNetArgumentException($"Evaluate: batch size must be positive, got {batchSize}.", nameof(batchSize));
        for (int i = 0; i < count; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ConvNetArgumentException($"Evaluate: label {labels[i]} at index {i} is outside [0, {classes}).", nameof(labels));
        using var ownLoss = loss is null ? new SoftmaxCrossEntropyLoss() : null;
        var lossFn = loss ?? ownLoss!;
        bool endsInSoftmax = EndsInSoftmax(model);
        using var buffers = new Workspace();
        var confusion = new ConfusionMatrix(classes);
        double lossSum = 0;
        var probs = new float[Math.Min(batchSize, count) * classes];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var input = buffers.Get(model.Backend, "input", Shapes.Batch(model.InputShape, n));
            input.Upload(images.Slice((int)(start * sample), (int)(n * sample)));
            var output = model.Forward(input, training: false);
            var labelTensor = buffers.Get(model.Backend, "labels", TensorShape.Vector(n), DataType.Int32);
            labelTensor.Upload(labels.Slice(start, n));
            if (endsInSoftmax)
            {
                output.Download(probs.AsSpan(0, n * classes));
                for (int i = 0; i < n; i++) lossSum -= Math.Log(Math.Max(probs[i * classes + labels[start + i]], 1e-30f));
            }
            else
            {
                lossSum += (double)lossFn.Forward(output, labelTensor) * n;
                lossFn.Probabilities.Download(probs.AsSpan(0, n * classes));
            }
            foreach (var metric in metrics) metric.Update(output, labelTensor);
            for (int i = 0; i < n; i++) confusion.Add(labels[start + i], ArgMax.Of(probs.AsSpan(i * classes, classes)));
        }
        return new EvaluationResult((float)(lossSum / count), confusion) { Metrics = Results(metrics) };
    }

    /// <summary>
    /// Evaluates on a data set of any task, normalizing a copy of its inputs with <paramref name="normalization"/> when
    /// given (a model that starts with a <see cref="Normalize"/> layer needs none). The loss defaults to softmax
    /// cross-entropy for class indices, binary cross-entropy on logits for multi-hot targets, and MSE for float values.
    /// </summary>
    /// <remarks>
    /// What comes back follows the task: class indices give the confusion matrix (accuracy, and per-class precision,
    /// recall and F1 through it); other targets give <see cref="EvaluationResult.Metrics"/>: "precision", "recall" and
    /// "f1" (macro over classes) for multi-hot targets, "iou" for masks under binary cross-entropy, "mse" and "mae" for
    /// regression, and the element accuracy where the loss has one (binary cross-entropy). Names in
    /// <paramref name="metrics"/> (see <see cref="Metric.FromName"/>) are added to <see cref="EvaluationResult.Metrics"/>.
    /// </remarks>
    /// <exception cref="ShapeMismatchException">The samples or targets do not fit the model.</exception>
    /// <exception cref="ConvNetArgumentException">The data is empty, the targets do not fit the loss, the batch size is not positive, or a metric is unknown or does not fit the task.</exception>
    public static EvaluationResult Evaluate(Model model, Dataset data, int batchSize = 256, Loss? loss = null,
        Normalization? normalization = null, IReadOnlyList<string>? metrics = null) =>
        Evaluate(model, data, batchSize, loss, normalization, metrics, defaultMetrics: true);

    /// <summary>Evaluate on a data set; <paramref name="defaultMetrics"/> false computes only the named metrics (validation during Fit).</summary>
    internal static EvaluationResult Evaluate(Model model, Dataset data, int batchSize, Loss? loss, Normalization? normalization,
        IReadOnlyList<string>? metrics, bool defaultMetrics)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        using var ownLoss = loss is null ? DefaultLoss(data) : null;
        var lossFn = loss ?? ownLoss!;
        TrainingTask.Check(model, lossFn, data, "evaluation");
        var names = new List<string>(metrics ?? []);
        if (defaultMetrics)
            foreach (var name in DefaultMetrics(data, lossFn))
                if (!names.Contains(name, StringComparer.Ordinal)) names.Add(name);
        var extra = TrainingTask.CreateMetrics(names, data, model);
        var inputs = data.Images;
        if (normalization is not null)
        {
            var copy = data.Images.ToArray();
            normalization.Apply(copy);
            inputs = copy;
        }
        return data.HasLabels
            ? EvaluateClasses(model, inputs.Span, data.Labels.Span, batchSize, (ClassificationLoss)lossFn, extra)
            : EvaluateValues(model, inputs.Span, data.Targets.Span, data.Count, batchSize, lossFn, extra);
    }

    // The loss a data set is evaluated with when none is given.
    private static Loss DefaultLoss(Dataset data) => data.TargetKind switch
    {
        TargetKind.ClassIndex => new SoftmaxCrossEntropyLoss(),
        TargetKind.MultiHot => new BinaryCrossEntropyWithLogitsLoss(),
        _ => new MeanSquaredErrorLoss(),
    };

    // The metrics that follow the task (besides the loss, the accuracy and, for class indices, the confusion matrix).
    private static IEnumerable<string> DefaultMetrics(Dataset data, Loss loss) => data.TargetKind switch
    {
        TargetKind.ClassIndex => [],
        TargetKind.MultiHot => ["precision", "recall", "f1"],
        _ when loss is BinaryCrossEntropyWithLogitsLoss => ["iou"],
        _ => ["mse", "mae"],
    };

    // Float targets: the mean of the loss's batch means weighted by batch size, the accuracy where the loss has one,
    // and the metrics, all in a fixed order.
    private static EvaluationResult EvaluateValues(Model model, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int count, int batchSize,
        Loss loss, Metric[] metrics)
    {
        using var use = model.UseGuard.Enter("Evaluate");
        if (count < 1)
            throw new ConvNetArgumentException("Evaluate: the data is empty; there is nothing to evaluate.", nameof(count));
        if (batchSize < 1) throw new ConvNetArgumentException($"Evaluate: batch size must be positive, got {batchSize}.", nameof(batchSize));
        long sample = model.InputShape.ElementCount, target = model.OutputShape.ElementCount;
        using var buffers = new Workspace();
        using var accuracy = AccuracyMetric.For(loss);
        double lossSum = 0;
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var input = buffers.Get(model.Backend, "input", Shapes.Batch(model.InputShape, n));
            input.Upload(inputs.Slice((int)(start * sample), (int)(n * sample)));
            var expected = buffers.Get(model.Backend, "targets", Shapes.Batch(model.OutputShape, n));
            expected.Upload(targets.Slice((int)(start * target), (int)(n * target)));
            var output = model.Forward(input, training: false);
            lossSum += (double)loss.Forward(output, expected) * n;
            accuracy.Accumulate(output, expected, loss);
            foreach (var metric in metrics) metric.Update(output, expected);
        }
        var (correct, total) = accuracy.Read();
        return new EvaluationResult((float)(lossSum / count), null)
        {
            Accuracy = TrainingTask.HasAccuracy(loss) && total > 0 ? (double)correct / total : double.NaN,
            Count = count,
            Metrics = Results(metrics),
        };
    }

    private static Dictionary<string, double> Results(Metric[] metrics)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var metric in metrics) values[metric.Name] = metric.Result();
        return values;
    }

    /// <summary>
    /// Class probabilities and predicted classes for <paramref name="count"/> samples given as host floats
    /// (count x input sample, row-major). The model's outputs are treated as logits and passed through a softmax, unless
    /// the model already ends in <see cref="Softmax"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The image count does not match <paramref name="count"/> or the model's input.</exception>
    public static Prediction Predict(Model model, ReadOnlySpan<float> images, int count, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var use = model.UseGuard.Enter("Predict");
        int classes = ClassCount(model);
        long sample = model.InputShape.ElementCount;
        if (count < 1)
            throw new ConvNetArgumentException($"Predict: the sample count must be at least 1, got {count} (with {images.Length} floats); there is nothing to predict.", nameof(count));
        if (images.Length != count * sample)
            throw new ShapeMismatchException($"Predict: expected {count} samples of {model.InputShape} ({count * sample} floats), got {images.Length} floats.");
        if (batchSize < 1) throw new ConvNetArgumentException($"Predict: batch size must be positive, got {batchSize}.", nameof(batchSize));
        bool endsInSoftmax = EndsInSoftmax(model);
        using var buffers = new Workspace();
        var probabilities = new float[count * classes];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var input = buffers.Get(model.Backend, "input", Shapes.Batch(model.InputShape, n));
            input.Upload(images.Slice((int)(start * sample), (int)(n * sample)));
            var output = model.Forward(input, training: false);
            var p = output;
            if (!endsInSoftmax)
            {
                p = buffers.Get(model.Backend, "probabilities", output.Shape);
                model.Backend.SoftmaxForward(output, p);
            }
            p.Download(probabilities.AsSpan(start * classes, n * classes));
        }
        var predicted = new int[count];
        for (int i = 0; i < count; i++) predicted[i] = ArgMax.Of(probabilities.AsSpan(i * classes, classes));
        return new Prediction(probabilities, predicted, classes);
    }

    /// <summary>The number of classes a single-output classifier scores.</summary>
    internal static int ClassCount(Model model)
    {
        if (model.OutputShapes.Count != 1 || model.OutputShape.Rank != 1)
            throw new InvalidOperationException(
                $"Model '{model.Name}' outputs {string.Join(", ", model.OutputShapes)}, not class scores (F), so it has no classes to predict. " +
                "For an autoencoder, a regression or a segmentation model use PredictOutputs (raw outputs, or σ of logits for masks); " +
                "a classifier ends in Flatten and Dense.");
        return model.OutputShape[0];
    }

    /// <summary>Whether the layer producing the model's only output is a <see cref="Softmax"/>.</summary>
    internal static bool EndsInSoftmax(Model model) => model.OutputLayer(0) is Softmax;
}

/// <summary>Output of <see cref="Evaluator.Predict"/>.</summary>
/// <param name="Probabilities">Row-major (count x classes) probabilities.</param>
/// <param name="Classes">The most probable class of each sample.</param>
/// <param name="ClassCount">Number of classes.</param>
public sealed record Prediction(float[] Probabilities, int[] Classes, int ClassCount)
{
    /// <summary>The probabilities of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> ProbabilitiesOf(int index) => Probabilities.AsSpan(index * ClassCount, ClassCount);
}

/// <summary>
/// <c>model.Evaluate(...)</c> and <c>model.Predict(...)</c> on any <see cref="Model"/>; each forwards to <see cref="Evaluator"/>.
/// </summary>
public static class ModelInferenceExtensions
{
    extension(Model model)
    {
        /// <summary>Loss, accuracy and confusion matrix on labelled host data; see <see cref="Evaluator.Evaluate(Model, ReadOnlySpan{float}, ReadOnlySpan{int}, int, ClassificationLoss?)"/>.</summary>
        public EvaluationResult Evaluate(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, int batchSize = 256, ClassificationLoss? loss = null) =>
            Evaluator.Evaluate(model, images, labels, batchSize, loss);

        /// <summary>Loss, accuracy and the task's metrics on a data set of any task; see <see cref="Evaluator.Evaluate(Model, Dataset, int, Loss?, Normalization?, IReadOnlyList{string}?)"/>.</summary>
        public EvaluationResult Evaluate(Dataset data, int batchSize = 256, Loss? loss = null, Normalization? normalization = null,
            IReadOnlyList<string>? metrics = null) =>
            Evaluator.Evaluate(model, data, batchSize, loss, normalization, metrics);

        /// <summary>The model's outputs for any task; see <see cref="Evaluator.PredictOutputs"/>.</summary>
        public OutputPrediction PredictOutputs(ReadOnlySpan<float> inputs, int count, int batchSize = 256, OutputActivation activation = OutputActivation.None) =>
            Evaluator.PredictOutputs(model, inputs, count, batchSize, activation);

        /// <summary>Class probabilities and predicted classes; see <see cref="Evaluator.Predict"/>.</summary>
        public Prediction Predict(ReadOnlySpan<float> images, int count, int batchSize = 256) =>
            Evaluator.Predict(model, images, count, batchSize);
    }
}
