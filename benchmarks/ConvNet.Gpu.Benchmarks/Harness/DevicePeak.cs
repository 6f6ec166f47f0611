using System.Diagnostics;
using System.Globalization;
using ConvNet.Gpu.Backends.Cpu;

namespace ConvNet.Gpu.Benchmarks.Harness;

/// <summary>
/// The FP32 ceiling each backend's "% of peak" column is quoted against, in GFLOP/s.
/// CPU: <c>CONVNET_CPU_PEAK_GFLOPS</c>, else measured once per process by <see cref="CpuPeak"/> (many independent FMA
/// chains per thread on every core, best of several trials).
/// CUDA: <c>CONVNET_GPU_PEAK_GFLOPS</c>, else measured once per process with cuBLAS SGEMM (TF32 off) on a large
/// square product: the best of several synchronized runs, so the column says how close an op gets to what cuBLAS does.
/// </summary>
public static class DevicePeak
{
    /// <summary>Environment variable overriding the CPU peak.</summary>
    public const string CpuPeakVariable = "CONVNET_CPU_PEAK_GFLOPS";

    /// <summary>Environment variable giving the GPU peak instead of measuring it.</summary>
    public const string GpuPeakVariable = "CONVNET_GPU_PEAK_GFLOPS";

    /// <summary>Environment variable giving the GPU's TF32 peak (the TF32 rows' % of peak) instead of measuring it.</summary>
    public const string GpuTf32PeakVariable = "CONVNET_GPU_TF32_PEAK_GFLOPS";

    private static readonly Lazy<(double Gflops, string Source)> Cpu = new(MeasureCpu);
    private static readonly Lazy<(double Gflops, string Source)> Gpu = new(() => MeasureGpu(emulated: false));
    private static readonly Lazy<(double Gflops, string Source)> GpuTf32 = new(() => MeasureGpu(emulated: false, tf32: true));

    /// <summary>The GPU's TF32 ceiling: <see cref="GpuTf32PeakVariable"/>, else cuBLAS SGEMM 8192^3 with TF32 on.</summary>
    public static (double Gflops, string Source) Tf32Gpu() => GpuTf32.Value;
    private static readonly Lazy<(double Gflops, string Source)> Emulated = new(() => MeasureGpu(emulated: true));

    /// <summary>The peak of backend <paramref name="backendName"/> (see <see cref="BenchmarkBackends"/>) and where it came from.</summary>
    public static (double Gflops, string Source) For(string backendName) => backendName switch
    {
        BenchmarkBackends.Cpu => Cpu.Value,
        BenchmarkBackends.Cuda => Gpu.Value,
        BenchmarkBackends.CudaEmulated => Emulated.Value,
        _ => throw new ArgumentException($"unknown backend '{backendName}'", nameof(backendName)),
    };

    private static double? FromEnvironment(string name) =>
        double.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 ? v : null;

    private static (double, string) MeasureCpu()
    {
        if (FromEnvironment(CpuPeakVariable) is double given) return (given, $"{CpuPeakVariable}={given}");
        var peak = CpuPeak.Measure();
        Console.WriteLine($"// ConvNet.Gpu: CPU peak for % of peak: {peak}");
        return (peak.Gflops, peak.ToString());
    }

    private static (double, string) MeasureGpu(bool emulated, bool tf32 = false)
    {
        string variable = tf32 ? GpuTf32PeakVariable : GpuPeakVariable;
        if (!emulated && FromEnvironment(variable) is double given) return (given, $"{variable}={given}");
        int n = emulated ? 512 : 8192; // 8192^3 = 1.1 TFLOP per product: long enough that launch overhead is noise
        var options = new Backends.Cuda.CudaBackendOptions { AllowTf32 = tf32 };
        using var backend = emulated ? Backend.CudaEmulated(options) : Backend.Cuda(options: options);
        using var a = backend.Allocate(TensorShape.Matrix(n, n));
        using var b = backend.Allocate(TensorShape.Matrix(n, n));
        using var c = backend.Allocate(TensorShape.Matrix(n, n));
        backend.Fill(a, 0.5f);
        backend.Fill(b, 0.25f);
        double best = double.MaxValue;
        for (int i = 0; i < 6; i++)
        {
            backend.Synchronize();
            long t0 = Stopwatch.GetTimestamp();
            backend.Gemm(false, false, n, n, n, 1f, a, b, 0f, c);
            backend.Synchronize();
            if (i > 0) best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        double gflops = 2.0 * n * n * n / best / 1e9;
        string mode = tf32 ? "on" : "off";
        Console.WriteLine($"// ConvNet.Gpu: {backend.Name} peak for % of peak: SGEMM {n}^3, TF32 {mode}, best of 5: {gflops:F0} GFLOP/s");
        return (gflops, $"measured: {(emulated ? "emulated " : "")}cuBLAS SGEMM {n}^3, TF32 {mode}, best of 5 = {gflops:F0} GFLOP/s");
    }
}
