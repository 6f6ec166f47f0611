namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// One kernel launch without its geometry: the kernel's extern "C" name and its packed arguments. The generated
/// launchers (<c>CudaKernels.X(...)</c>, one per kernel in kernels/*.cu, built by src/ConvNet.Gpu.KernelGen from the
/// kernel signatures) are the only code that creates one, so the name and the arguments always belong together and
/// match the kernel's parameter list; CudaBackend adds the grid and block and queues it.
/// </summary>
internal readonly struct KernelCall
{
    /// <summary>Creates the call (used by the generated launchers).</summary>
    public KernelCall(string name, in KernelArgs args)
    {
        Name = name;
        Args = args;
    }

    /// <summary>The kernel's extern "C" name, one of <c>KernelNames</c>.</summary>
    public readonly string Name;

    /// <summary>The arguments in parameter order, each tagged with its C type.</summary>
    public readonly KernelArgs Args;

    /// <summary>"cn_add(device pointer, device pointer, device pointer, long long)"-style text for messages.</summary>
    public override string ToString() => Name + Args;
}
