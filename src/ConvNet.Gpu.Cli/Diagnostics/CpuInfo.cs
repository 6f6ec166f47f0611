using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Cli.Diagnostics;

/// <summary>Facts about the host CPU that decide how fast the CPU backend is.</summary>
internal static class CpuInfo
{
    /// <summary>The processor's marketing name from /proc/cpuinfo (Linux), or the architecture elsewhere.</summary>
    public static string ModelName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The instruction-set extensions .NET reports as usable, widest first, for this architecture.</summary>
    public static IReadOnlyList<(string Name, bool Supported)> InstructionSets() =>
        RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm
            ? [("NEON (AdvSimd)", AdvSimd.IsSupported), ("AdvSimd.Arm64", AdvSimd.Arm64.IsSupported)]
            :
    [
        ("AVX-512F", Avx512F.IsSupported),
        ("AVX-512BW", Avx512BW.IsSupported),
        ("AVX-512VL", Avx512F.VL.IsSupported),
        ("AVX2", Avx2.IsSupported),
        ("FMA", Fma.IsSupported),
        ("AVX", Avx.IsSupported),
        ("SSE4.2", Sse42.IsSupported),
    ];

    /// <summary>Hardware vector widths as .NET uses them.</summary>
    public static string VectorWidths() =>
        $"Vector<float>: {Vector<float>.Count} lanes; Vector256 {(Vector256.IsHardwareAccelerated ? "accelerated" : "software")}; "
        + $"Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated" : "software")}";

    /// <summary>Memory available to the process, in bytes.</summary>
    public static long AvailableMemoryBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}
