namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// The backends a benchmark run covers, as [ParamsSource] values: "CPU" always, "CUDA" when <see cref="Backend.Cuda"/>
/// can open device 0. When CUDA is unavailable its rows are left out and the reason is printed once (no crash).
/// <c>CONVNET_BENCH_BACKENDS=cpu</c> (or <c>cuda</c>, comma-separated) restricts the set; <c>cuda-emulated</c> adds the
/// emulated CUDA device (the same kernels on the host: slow, for checking the GPU code path without a GPU);
/// <c>CONVNET_CPU_THREADS</c> sets the CPU backend's thread count (default: all cores).
/// </summary>
public static class BenchmarkBackends
{
    /// <summary>Parameter value of the CPU backend.</summary>
    public const string Cpu = "CPU";

    /// <summary>Parameter value of the CUDA backend (device 0).</summary>
    public const string Cuda = "CUDA";

    /// <summary>Parameter value of the emulated CUDA backend (only when asked for in <see cref="BackendsVariable"/>).</summary>
    public const string CudaEmulated = "CUDA-emulated";

    /// <summary>Environment variable restricting the backends (comma-separated: cpu, cuda).</summary>
    public const string BackendsVariable = "CONVNET_BENCH_BACKENDS";

    /// <summary>Environment variable with the CPU backend's thread count.</summary>
    public const string CpuThreadsVariable = "CONVNET_CPU_THREADS";

    private static readonly Lazy<string?> CudaReason = new(ProbeCuda);
    private static bool _reported;

    /// <summary>Why CUDA cannot be benchmarked here, or null when it can.</summary>
    public static string? CudaUnavailableReason => CudaReason.Value;

    /// <summary>The backends to benchmark, printing once why CUDA is skipped when it is.</summary>
    public static IEnumerable<string> Available
    {
        get
        {
            var wanted = Wanted();
            var names = new List<string>();
            if (wanted.Contains(Cpu)) names.Add(Cpu);
            if (wanted.Contains(Cuda))
            {
                if (CudaUnavailableReason is null) names.Add(Cuda);
                else if (!_reported)
                {
                    _reported = true;
                    Console.WriteLine($"// ConvNet.Gpu: skipping the CUDA rows: {CudaUnavailableReason}");
                }
            }
            if (wanted.Contains(CudaEmulated)) names.Add(CudaEmulated);
            return names;
        }
    }

    /// <summary>The CPU thread count from <see cref="CpuThreadsVariable"/>, or null for all cores.</summary>
    public static int? CpuThreads =>
        int.TryParse(Environment.GetEnvironmentVariable(CpuThreadsVariable), out int t) && t > 0 ? t : null;

    /// <summary>Whether <paramref name="name"/> is a CUDA backend (real or emulated).</summary>
    public static bool IsCuda(string name) => name is Cuda or CudaEmulated;

    /// <summary>Creates the backend named <paramref name="name"/> (a value of <see cref="Available"/>).</summary>
    public static IBackend Create(string name) => name switch
    {
        Cpu => Backend.Cpu(CpuThreads),
        Cuda => Backend.Cuda(),
        CudaEmulated => Backend.CudaEmulated(),
        _ => throw new ArgumentException($"unknown backend '{name}' (expected {Cpu} or {Cuda})", nameof(name)),
    };

    /// <summary>The backend name for a peer-style device argument ("cpu" or "cuda").</summary>
    public static string FromDevice(string device) => device.ToLowerInvariant() switch
    {
        "cpu" => Cpu,
        "cuda" or "gpu" => Cuda,
        "cuda-emulated" => CudaEmulated,
        _ => throw new ArgumentException($"unknown device '{device}' (expected cpu, cuda or cuda-emulated)", nameof(device)),
    };

    private static HashSet<string> Wanted()
    {
        string? text = Environment.GetEnvironmentVariable(BackendsVariable);
        if (string.IsNullOrWhiteSpace(text)) return [Cpu, Cuda];
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(FromDevice).ToHashSet();
    }

    private static string? ProbeCuda()
    {
        try
        {
            var availability = Backend.QueryCuda();
            return availability.IsAvailable ? null : availability.Reason ?? "CUDA unavailable";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return e.Message;
        }
    }
}
