namespace ConvNet.Gpu.Tests.Architecture;

/// <summary>
/// The op families of <see cref="IBackend"/> and the one name each has everywhere (docs/architecture.md, "Op families"):
/// family X is the IBackend section "X: ...", BackendBase.X.cs, CpuBackend.X.cs, CudaBackend.X.cs (helper partials of a
/// family start with its name, e.g. CudaBackend.ConvImplicit.cs), its kernel files, Reference/XReference.cs and
/// Ops/XOpsSuite.cs. A family may lack a CPU file (the base class composes it from other ops), kernels (cuBLAS does the
/// work) or a reference (its suite checks against the unfused ops); those gaps are listed here, not guessed.
/// </summary>
internal static class OpFamilies
{
    /// <summary>One op family.</summary>
    /// <param name="Name">The family name X.</param>
    /// <param name="Kernels">Its kernels/*.cu files.</param>
    /// <param name="HasCpuFile">Whether CpuBackend.X.cs exists (false: BackendBase's default composes the op).</param>
    /// <param name="HasReference">Whether Reference/XReference.cs exists (false: the suite's oracle is the unfused ops).</param>
    public sealed record Family(string Name, string[] Kernels, bool HasCpuFile = true, bool HasReference = true);

    public static readonly IReadOnlyList<Family> All =
    [
        new("Gemm", []),
        new("Conv", ["im2col.cu", "conv_igemm.cu", "conv_depthwise.cu"]),
        new("Epilogue", ["epilogue.cu"], HasCpuFile: false, HasReference: false),
        new("Pool", ["pooling.cu", "upsample.cu"]),
        new("Activation", ["activation.cu"]),
        new("SoftmaxLoss", ["softmax_loss.cu"]),
        new("Elementwise", ["elementwise.cu", "dropout.cu", "reduce.cu"]),
        new("BatchNorm", ["batchnorm.cu"]),
        new("Optimizer", ["optimizer.cu"]),
    ];

    /// <summary>Kernel files that belong to no op family: the device probes the emulator tests exercise on their own.</summary>
    public static readonly IReadOnlyList<string> NonFamilyKernels = ["device_probe.cu"];

    /// <summary>
    /// Backend partial files that are not an op family, with the reason: the host-free training-step ops (their CUDA
    /// kernels live with their families: SoftmaxLoss, Optimizer, Elementwise), CUDA Graph capture, and the pinned input
    /// pipeline on the copy stream.
    /// </summary>
    public static readonly IReadOnlyList<string> NonFamilyPartials =
        ["BackendBase.Training.cs", "CudaBackend.Graphs.cs", "CudaBackend.InputPipeline.cs"];

    /// <summary>Op suites that cut across the families (in-place calls, bad input for every op).</summary>
    public static readonly IReadOnlyList<string> CrossFamilySuites = ["AliasingOpsSuite.cs"];
}
