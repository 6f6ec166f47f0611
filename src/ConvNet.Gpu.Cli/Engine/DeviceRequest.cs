using System.Globalization;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>What --device asked for.</summary>
internal enum DeviceKind
{
    /// <summary>The best available: a CUDA GPU when one works, else the CPU (the reason is printed).</summary>
    Auto,
    /// <summary>The multithreaded SIMD CPU backend.</summary>
    Cpu,
    /// <summary>A real CUDA GPU (index in <see cref="DeviceRequest.CudaIndex"/>).</summary>
    Cuda,
    /// <summary>The emulated CUDA device: the CUDA backend's code and kernels, run on the host (slow; for testing).</summary>
    CudaEmulated,
}

/// <summary>A parsed --device value: auto, cpu, cuda, cuda:N or cuda-emulated.</summary>
internal readonly record struct DeviceRequest(DeviceKind Kind, int CudaIndex = 0)
{
    /// <summary>The accepted spellings, for help and error messages.</summary>
    public const string Syntax = "auto, cpu, cuda, cuda:N (GPU number N), cuda-emulated";

    /// <summary>Parses a --device value (case-insensitive); null when it is not one of <see cref="Syntax"/>.</summary>
    public static DeviceRequest? TryParse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        switch (t)
        {
            case "auto": return new DeviceRequest(DeviceKind.Auto);
            case "cpu": return new DeviceRequest(DeviceKind.Cpu);
            case "cuda" or "gpu": return new DeviceRequest(DeviceKind.Cuda);
            case "cuda-emulated" or "emulated": return new DeviceRequest(DeviceKind.CudaEmulated);
        }
        if (t.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(t.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return new DeviceRequest(DeviceKind.Cuda, index);
        return null;
    }

    /// <summary>The canonical spelling.</summary>
    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        DeviceKind.Cuda => $"cuda:{CudaIndex}",
        _ => "cuda-emulated",
    };
}
