using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>Recognizes the library's typed errors (dataset, checkpoint, CUDA) so they get their own exit codes.</summary>
internal static class EngineErrors
{
    /// <summary>A malformed IDX file.</summary>
    public static bool IsDataError(Exception ex) => ex is IdxFormatException;

    /// <summary>A corrupt, truncated or incompatible checkpoint.</summary>
    public static bool IsCheckpointError(Exception ex) => ex is ConvNet.Gpu.Checkpoints.CheckpointFormatException;

    /// <summary>A CUDA driver, cuBLAS or device-selection failure.</summary>
    public static bool IsDeviceError(Exception ex) => ex is ConvNet.Gpu.Backends.Cuda.CudaException or ConvNet.Gpu.Backends.Cuda.CudaUnavailableException or DllNotFoundException;
}
