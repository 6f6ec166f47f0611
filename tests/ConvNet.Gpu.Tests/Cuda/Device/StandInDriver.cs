using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda.Interop;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The test seams of the stand-in libcuda.so.1 / libcublas.so.N (FakeDriver/, built by build/build-stand-in-driver.sh),
/// reached through the libraries ConvNet.Gpu loaded. Tests that need them skip on a real driver.
/// </summary>
internal static unsafe class StandInDriver
{
    /// <summary>Device name the stand-in driver reports.</summary>
    public const string DeviceName = "Fake CUDA driver (test)";

    /// <summary>True when the loaded libcuda is the stand-in (it exports fake_cuda_live).</summary>
    public static bool IsLoaded
    {
        get
        {
            var cuda = NativeLibraries.Load(NativeLibraries.Cuda);
            return cuda.Loaded && NativeLibrary.TryGetExport(cuda.Handle, "fake_cuda_live", out _);
        }
    }

    /// <summary>Skips the test unless the stand-in driver is the one loaded.</summary>
    public static void Require()
    {
        if (!IsLoaded) Assert.Skip("needs the stand-in driver of build/test-driver-path.sh (it has test seams a real driver lacks)");
    }

    /// <summary>What the stand-in still holds: "allocations", "streams", "modules", "events", "context_refs", or "sticky" (the poisoning CUresult).</summary>
    public static long Live(string what)
    {
        var get = (delegate* unmanaged<byte*, long>)NativeLibrary.GetExport(NativeLibraries.Load(NativeLibraries.Cuda).Handle, "fake_cuda_live");
        byte[] name = System.Text.Encoding.ASCII.GetBytes(what + "\0");
        fixed (byte* p = name) return get(p);
    }

    /// <summary>cuBLAS handles created and not destroyed, in the loaded stand-in cuBLAS.</summary>
    public static int LiveCublasHandles()
    {
        Backend.QueryCuda(); // chooses (and loads) the cuBLAS for the driver, if nothing did yet
        var get = (delegate* unmanaged<int>)NativeLibrary.GetExport(NativeLibraries.Load(NativeLibraries.Cublas).Handle, "fake_cublas_live_handles");
        return get();
    }

    /// <summary>Makes the next cublasCreate_v2 of the loaded stand-in cuBLAS return <paramref name="status"/>.</summary>
    public static void FailNextCublasCreate(int status)
    {
        Backend.QueryCuda();
        var set = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(NativeLibraries.Load(NativeLibraries.Cublas).Handle, "fake_cublas_fail_next_create");
        set(status);
    }
}
