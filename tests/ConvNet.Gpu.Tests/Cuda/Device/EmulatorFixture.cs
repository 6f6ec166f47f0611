using Xunit;
using ConvNet.Gpu.Backends.Cuda.Emulation;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>Opens the emulated device for a test, or skips the test with the reason it is unavailable.</summary>
internal static class EmulatorFixture
{
    public static EmulatedCudaDevice Open(long? memoryLimitBytes = null, bool stickyErrors = false)
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"Emulated CUDA device unavailable: {reason}");
        return EmulatedCudaDevice.Open(memoryLimitBytes, gemmThreads: 2, stickyErrors: stickyErrors);
    }

    public static ulong Upload(EmulatedCudaDevice device, float[] values)
    {
        ulong pointer = device.Allocate(values.Length * 4L);
        device.CopyHostToDevice(pointer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return pointer;
    }

    public static float[] Download(EmulatedCudaDevice device, ulong pointer, int count)
    {
        var values = new float[count];
        device.CopyDeviceToHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), pointer);
        return values;
    }
}
