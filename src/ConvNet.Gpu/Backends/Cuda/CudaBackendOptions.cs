namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// Settings of a <see cref="CudaBackend"/>: memory pooling, TF32, and the launch geometry of the hand-written kernels.
/// The defaults suit training; tests shrink <see cref="BlockSize"/> and <see cref="MaxGridBlocks"/> so every kernel's
/// grid-stride loop runs several rounds.
/// </summary>
public sealed record CudaBackendOptions
{
    /// <summary>Largest block the kernels support (their shared reduction buffers hold this many floats).</summary>
    public const int MaxBlockSize = 1024;

    /// <summary>Cache freed device blocks for reuse (default true). Turn off for compute-sanitizer memcheck, which must see true buffer bounds.</summary>
    public bool UseMemoryPool { get; init; } = true;

    /// <summary>Let cuBLAS use TF32 tensor cores for SGEMM (default false: full FP32, results within 1e-5 of the CPU).</summary>
    public bool AllowTf32 { get; init; }

    /// <summary>Threads per block for every kernel, 1 to <see cref="MaxBlockSize"/> (default 256).</summary>
    public int BlockSize { get; init; } = 256;

    /// <summary>Upper bound on blocks per launch; 0 (the default) means only the work size bounds the grid.</summary>
    public int MaxGridBlocks { get; init; }

    /// <summary>
    /// Largest convolution workspace (im2col columns) in bytes, default 512 MiB. Bigger batches are processed in
    /// chunks of samples, each chunk still one strided-batched GEMM per group.
    /// </summary>
    public long MaxWorkspaceBytes { get; init; } = 512L << 20;

    /// <summary>Throws <see cref="ConvNetArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (BlockSize < 1 || BlockSize > MaxBlockSize)
            throw new ConvNetArgumentException($"CudaBackendOptions.BlockSize must be in [1, {MaxBlockSize}], got {BlockSize}.", nameof(BlockSize));
        if (MaxGridBlocks < 0)
            throw new ConvNetArgumentException($"CudaBackendOptions.MaxGridBlocks must be >= 0 (0 = no cap), got {MaxGridBlocks}.", nameof(MaxGridBlocks));
        if (MaxWorkspaceBytes < 1)
            throw new ConvNetArgumentException($"CudaBackendOptions.MaxWorkspaceBytes must be positive, got {MaxWorkspaceBytes}.", nameof(MaxWorkspaceBytes));
    }
}
