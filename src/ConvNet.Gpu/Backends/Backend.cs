using ConvNet.Gpu.Backends.Cpu;

namespace ConvNet.Gpu;

/// <summary>
/// Factory for backends. There is never a silent fallback: <c>Default()</c> reports which backend it chose and why
/// in <see cref="IBackend.SelectionReason"/>, and <c>Cuda()</c> throws with the reason when CUDA is unavailable.
/// </summary>
public static partial class Backend
{
    /// <summary>The multithreaded SIMD CPU backend (all cores unless <paramref name="threads"/> is given).</summary>
    public static CpuBackend Cpu(int? threads = null) => new(threads);
}
