using ConvNet.Gpu.Data;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training;

/// <summary>
/// Evaluation and prediction of a single-input classifier on host data, batch by batch in inference mode (dropout off,
/// batch norm on its running statistics). Every Evaluate and Predict in the library (the <see cref="Trainer"/>'s,
/// validation during <c>Fit</c>, and the <see cref="ModelInferenceExtensions"/> on a model) runs through here.
/// </summary>
public static class Evaluator
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
            if (endsInSoftmax)
            {
                output.Download(probs.AsSpan(0, n * classes));
                for (int i = 0; i < n; i++) lossSum -= Math.Log(Math.Max(probs[i * classes + labels[start + i]], 1e-30f));
            }
            else
            {
                var labelTensor = buffers.Get(model.Backend, "labels", TensorShape.Vector(n), DataType.Int32);
                labelTensor.Upload(labels.Slice(start, n));
                lossSum += (double)lossFn.Forward(output, labelTensor) * n;
                lossFn.Probabilities.Download(probs.AsSpan(0, n * classes));
            }
            for (int i = 0; i < n; i++) confusion.Add(labels[start + i], ArgMax.Of(probs.AsSpan(i * classes, classes)));
        }
        return new EvaluationResult((float)(lossSum / count), confusion);
    }

    /// <summary>Evaluates on a data set, normalizing a copy of its images with <paramref name="normalization"/> when given.</summary>
    public static EvaluationResult Evaluate(Model model, Dataset data, int batchSize = 256, ClassificationLoss? loss = null,
        Normalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (normalization is null) return Evaluate(model, data.Images.Span, data.Labels.Span, batchSize, loss);
        var images = data.Images.ToArray();
        normalization.Apply(images);
        return Evaluate(model, images, data.Labels.Span, batchSize, loss);
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
                $"Model '{model.Name}' outputs {string.Join(", ", model.OutputShapes)}, not class scores (F); add Flatten and Dense.");
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

        /// <summary>Loss, accuracy and confusion matrix on a data set; see <see cref="Evaluator.Evaluate(Model, Dataset, int, ClassificationLoss?, Normalization?)"/>.</summary>
        public EvaluationResult Evaluate(Dataset data, int batchSize = 256, ClassificationLoss? loss = null, Normalization? normalization = null) =>
            Evaluator.Evaluate(model, data, batchSize, loss, normalization);

        /// <summary>Class probabilities and predicted classes; see <see cref="Evaluator.Predict"/>.</summary>
        public Prediction Predict(ReadOnlySpan<float> images, int count, int batchSize = 256) =>
            Evaluator.Predict(model, images, count, batchSize);
    }
}
