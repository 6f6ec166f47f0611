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

    /// <summary>
    /// How convolution algorithms are picked when none is forced (default <see cref="ConvAutotune.On"/>: time the
    /// eligible candidates on first use of a geometry on a GPU; the fixed cost order on the emulated device).
    /// </summary>
    public ConvAutotune Autotune { get; init; } = ConvAutotune.On;

    /// <summary>
    /// Run every convolution pass with this algorithm (tests, benchmarks). Where it cannot run a geometry on this device
    /// (e.g. Depthwise on a non-depthwise convolution, TF32 without <see cref="AllowTf32"/>), the pass falls back to
    /// <see cref="ConvAlgorithm.Im2ColGemm"/> and <see cref="CudaBackend.ConvAlgorithmChoices"/> records why. Null (the
    /// default): <see cref="Autotune"/> decides.
    /// </summary>
    public ConvAlgorithm? ForceConvAlgorithm { get; init; }

    /// <summary>
    /// The autotuner's persistent cache (JSON, keyed by GPU name, driver version, library version, pass, geometry and
    /// TF32 mode). Null (the default): <c>$XDG_CACHE_HOME/convnet-gpu/conv-autotune.json</c> (<c>~/.cache/...</c> when
    /// unset; the local application data folder on Windows). An empty string keeps the cache in memory only.
    /// </summary>
    public string? AutotuneCachePath { get; init; }

    /// <summary>
    /// How many ranges the implicit-GEMM backward-weights splits its N*OH*OW reduction into (each summed by its own
    /// blocks, the partial results then added in split order, so the result stays deterministic); 0 (the default) picks
    /// from the device's SM count and the geometry. At most 64; fewer when the pixels do not fill that many ranges of a
    /// whole number of 16-pixel steps.
    /// </summary>
    public int WgradSplits { get; init; }

    /// <summary>Throws <see cref="ConvNetArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (WgradSplits < 0 || WgradSplits > 64)
            throw new ConvNetArgumentException($"CudaBackendOptions.WgradSplits must be in [0, 64] (0 = automatic), got {WgradSplits}.", nameof(WgradSplits));
        if (ForceConvAlgorithm is { } forced && !Enum.IsDefined(forced))
            throw new ConvNetArgumentException($"CudaBackendOptions.ForceConvAlgorithm {(int)forced} is not a ConvAlgorithm.", nameof(ForceConvAlgorithm));
        if (!Enum.IsDefined(Autotune))
            throw new ConvNetArgumentException($"CudaBackendOptions.Autotune {(int)Autotune} is not a ConvAutotune.", nameof(Autotune));
        if (BlockSize < 1 || BlockSize > MaxBlockSize)
            throw new ConvNetArgumentException($"CudaBackendOptions.BlockSize must be in [1, {MaxBlockSize}], got {BlockSize}.", nameof(BlockSize));
        if (MaxGridBlocks < 0)
            throw new ConvNetArgumentException($"CudaBackendOptions.MaxGridBlocks must be >= 0 (0 = no cap), got {MaxGridBlocks}.", nameof(MaxGridBlocks));
        if (MaxWorkspaceBytes < 1)
            throw new ConvNetArgumentException($"CudaBackendOptions.MaxWorkspaceBytes must be positive, got {MaxWorkspaceBytes}.", nameof(MaxWorkspaceBytes));
    }
}
