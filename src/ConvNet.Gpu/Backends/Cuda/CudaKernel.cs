namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// A kernel of the device's module, found by its extern "C" name. Obtain it once with
/// <see cref="ICudaDevice.GetKernel"/> and launch it many times; it is only valid on the device that returned it.
/// </summary>
internal sealed class CudaKernel
{
    internal CudaKernel(string name, nint handle, object owner)
    {
        Name = name;
        Handle = handle;
        Owner = owner;
    }

    /// <summary>The kernel's extern "C" name, e.g. "im2col_f32".</summary>
    public string Name { get; }

    /// <summary>Device-specific handle: the CUfunction on the driver, an index on the emulator.</summary>
    internal nint Handle { get; }

    /// <summary>The device that created this kernel (launching it on another device is an error).</summary>
    internal object Owner { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
