using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Backends.Cuda.Interop;

/// <summary>
/// The C ABI of libconvnet_cuda_emu.so (kernels/emu/cn_emulate_runtime.cpp): the allocation registry that makes
/// device pointers bounds-checkable, kernel lookup, and synchronous launches by name.
/// </summary>
internal static unsafe partial class EmulatorNative
{
    /// <summary>The ABI version this code was written against.</summary>
    public const int ExpectedAbiVersion = 2;

    public const int StatusOk = 0;
    public const int StatusInvalidLaunch = 1;
    public const int StatusNotFound = 2;
    public const int StatusArgumentMismatch = 3;
    public const int StatusBadAccess = 4;
    public const int StatusBarrier = 5;
    public const int StatusInternal = 6;
    public const int StatusWarp = 7;

    static EmulatorNative() => NativeLibraries.EnsureResolver();

    [LibraryImport(NativeLibraries.Emulator)] public static partial int cn_emu_abi_version();
    [LibraryImport(NativeLibraries.Emulator)] public static partial int cn_emu_register_alloc(ulong pointer, ulong bytes);
    [LibraryImport(NativeLibraries.Emulator)] public static partial int cn_emu_unregister_alloc(ulong pointer);

    [LibraryImport(NativeLibraries.Emulator, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int cn_emu_kernel_exists(string name);

    [LibraryImport(NativeLibraries.Emulator)] public static partial int cn_emu_kernel_count();
    [LibraryImport(NativeLibraries.Emulator)] public static partial byte* cn_emu_kernel_name(int index);

    [LibraryImport(NativeLibraries.Emulator)]
    public static partial int cn_emu_launch(byte* name, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        int sharedBytes, ulong* slots, byte* kinds, int count, byte* errorBuffer, int errorBufferLength);
}
