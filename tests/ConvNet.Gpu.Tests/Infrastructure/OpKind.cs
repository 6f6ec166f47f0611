namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>How an op's result is compared, which picks the tolerance from <see cref="BackendUnderTest"/>.</summary>
public enum OpKind
{
    /// <summary>Long reductions with floating-point reordering: conv, GEMM (TF32 applies here on CUDA).</summary>
    Matmul,

    /// <summary>Point-wise math and short reductions: activations, softmax, losses, pooling averages, norms, optimizers.</summary>
    Pointwise,

    /// <summary>Pure data movement: im2col, col2im of one contribution, max-pool values and argmax, copies, upsample forward.</summary>
    Exact,
}
