using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training;

/// <summary>What <see cref="Evaluator.PredictOutputs"/> applies to the model's raw outputs.</summary>
public enum OutputActivation
{
    /// <summary>The raw outputs: regression values, an autoencoder's reconstruction, logits.</summary>
    None,

    /// <summary>σ(z) element by element: the probabilities of a multi-label model or a mask model trained with binary cross-entropy on logits.</summary>
    Sigmoid,

    /// <summary>A softmax over each sample's scores (F): a classifier's class probabilities (what <see cref="Evaluator.Predict"/> returns).</summary>
    Softmax,
}

public static partial class Evaluator
{
    /// <summary>
    /// The outputs of a model of any task for <paramref name="count"/> samples given as host floats (count × input
    /// sample, row-major), in inference mode, optionally through <paramref name="activation"/>: σ for multi-label
    /// vectors and masks trained on logits. A leading <see cref="Normalize"/> layer is applied as part of the model, so
    /// pass raw inputs.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The float count does not match <paramref name="count"/> samples of the model's input.</exception>
    /// <exception cref="ConvNetArgumentException">The count or batch size is not positive, the model has several outputs, or a softmax is asked of outputs that are not scores (F).</exception>
    public static OutputPrediction PredictOutputs(Model model, ReadOnlySpan<float> inputs, int count, int batchSize = 256,
        OutputActivation activation = OutputActivation.None)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var use = model.UseGuard.Enter("PredictOutputs");
        long sample = model.InputShape.ElementCount;
        if (model.OutputShapes.Count != 1)
            throw new ConvNetArgumentException($"PredictOutputs: model '{model.Name}' has {model.OutputShapes.Count} outputs; it takes single-output models.", nameof(model));
        if (count < 1)
            throw new ConvNetArgumentException($"PredictOutputs: the sample count must be at least 1, got {count}; there is nothing to predict.", nameof(count));
        if (inputs.Length != count * sample)
            throw new ShapeMismatchException($"PredictOutputs: expected {count} samples of {model.InputShape} ({count * sample} floats), got {inputs.Length} floats.");
        if (batchSize < 1) throw new ConvNetArgumentException($"PredictOutputs: batch size must be positive, got {batchSize}.", nameof(batchSize));
        if (activation == OutputActivation.Softmax && model.OutputShape.Rank != 1)
            throw new ConvNetArgumentException($"PredictOutputs: a softmax needs class scores (F), but model '{model.Name}' outputs {model.OutputShape}.", nameof(activation));
        long size = model.OutputShape.ElementCount;
        var values = new float[count * size];
        using var buffers = new Workspace();
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var input = buffers.Get(model.Backend, "input", Shapes.Batch(model.InputShape, n));
            input.Upload(inputs.Slice((int)(start * sample), (int)(n * sample)));
            var output = model.Forward(input, training: false);
            var result = output;
            if (activation != OutputActivation.None)
            {
                result = buffers.Get(model.Backend, "activated", output.Shape);
                if (activation == OutputActivation.Sigmoid) model.Backend.ActivationForward(ActivationKind.Sigmoid, 0f, output, result);
                else model.Backend.SoftmaxForward(output, result);
            }
            result.Download(values.AsSpan((int)(start * size), (int)(n * size)));
        }
        return new OutputPrediction(values, model.OutputShape, count);
    }
}

/// <summary>Output of <see cref="Evaluator.PredictOutputs"/>: <see cref="Count"/> outputs of <see cref="SampleShape"/>, row-major.</summary>
/// <param name="Values">Count × sample floats, row-major (NCHW for images and masks).</param>
/// <param name="SampleShape">The shape of one sample's output.</param>
/// <param name="Count">Number of samples.</param>
public sealed record OutputPrediction(float[] Values, TensorShape SampleShape, int Count)
{
    /// <summary>The output of sample <paramref name="index"/> (<see cref="SampleShape"/>'s element count floats).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, Count).</exception>
    public ReadOnlySpan<float> ValuesOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int size = (int)SampleShape.ElementCount;
        return Values.AsSpan(index * size, size);
    }
}
