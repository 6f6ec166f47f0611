using Microsoft.ML.OnnxRuntime;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// ONNX Runtime as the independent oracle of the ONNX tests: runs a serialized model on the CPU execution provider
/// with graph optimizations off (so every node is evaluated as written, not fused) and one thread. Strict shape
/// inference is on: a value-info shape in the file that disagrees with the shape ONNX's own inference derives is an
/// error, not a warning, so the file is consistent for every runtime and not only for ORT's kernels.
/// </summary>
public static class OnnxRuntimeOracle
{
    /// <summary>Runs the model's single input through it and returns the first output's values and dims.</summary>
    public static (float[] Values, long[] Dims) Run(byte[] model, float[] input, params long[] dims)
    {
        var first = RunAll(model, [(input, dims)])[0];
        return (first.Values, first.Dims);
    }

    /// <summary>
    /// Feeds the model's inputs, in the file's order, with <paramref name="inputs"/> and returns every output, in the
    /// file's order, with its name.
    /// </summary>
    public static IReadOnlyList<(float[] Values, long[] Dims, string Name)> RunAll(byte[] model, IReadOnlyList<(float[] Values, long[] Dims)> inputs)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        using var session = new InferenceSession(model, options);
        if (session.InputNames.Count != inputs.Count)
            throw new ArgumentException($"The model has {session.InputNames.Count} inputs ({string.Join(", ", session.InputNames)}), {inputs.Count} were given.", nameof(inputs));
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Values, i.Dims)).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, session.InputNames, values, session.OutputNames);
            return outputs.Select((o, k) => (o.GetTensorDataAsSpan<float>().ToArray(), o.GetTensorTypeAndShape().Shape, session.OutputNames[k])).ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
