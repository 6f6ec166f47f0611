namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>Launch-configuration checks shared by both devices, so a bad grid fails the same way everywhere.</summary>
internal static class LaunchChecks
{
    /// <summary>Largest number of threads in one block on every GPU we target.</summary>
    public const int MaxThreadsPerBlock = 1024;

    /// <summary>Throws <see cref="CudaException"/> (CUDA_ERROR_INVALID_VALUE) naming the kernel for an impossible launch.</summary>
    public static void Validate(string kernel, Dim3 grid, Dim3 block, int sharedMemoryBytes)
    {
        string? problem = null;
        if (grid.X < 1 || grid.Y < 1 || grid.Z < 1) problem = $"grid {grid} has a dimension below 1";
        else if (grid.Y > 65535 || grid.Z > 65535) problem = $"grid {grid} exceeds 65535 in y or z";
        else if (block.X < 1 || block.Y < 1 || block.Z < 1) problem = $"block {block} has a dimension below 1";
        else if (block.Volume > MaxThreadsPerBlock || block.Z > 64) problem = $"block {block} has more than {MaxThreadsPerBlock} threads or z > 64";
        else if (sharedMemoryBytes < 0) problem = $"dynamic shared memory {sharedMemoryBytes} is negative";
        if (problem is not null)
            throw new CudaException("cuLaunchKernel", kernel, 1, "CUDA_ERROR_INVALID_VALUE", "invalid argument",
                $"Invalid launch configuration: {problem}.");
    }
}
