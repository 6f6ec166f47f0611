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
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        using var session = new InferenceSession(model, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, dims);
        using var runOptions = new RunOptions();
        string inputName = session.InputNames.Single();
        using var outputs = session.Run(runOptions, [inputName], [value], [session.OutputNames[0]]);
        var output = outputs[0];
        return (output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }
}
