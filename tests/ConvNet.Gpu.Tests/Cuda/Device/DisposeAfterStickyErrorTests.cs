using ConvNet.Gpu.Backends.Cuda;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// After a sticky error (an illegal address poisons a real context) the backend refuses work, and disposing it never
/// throws, releases everything it can and leaves the original exception as the one a <c>using</c> block propagates.
/// On the emulated device with GPU-like sticky errors; <see cref="DriverDeviceTests"/> does the same on the stand-in driver.
/// Before the fix, disposing trimmed the pool through Free, which the poisoned device refused: Dispose threw, replaced
/// the original exception inside <c>using</c>, and leaked the device.
/// </summary>
public sealed class DisposeAfterStickyErrorTests
{
    /// <summary>Launches cn_fill one element past the end of a fresh 64-float buffer: an illegal address.</summary>
    internal static void FaultingLaunch(ICudaDevice device)
    {
        ulong y = device.Allocate(64 * 4);
        var args = new KernelArgs();
        args.AddPointer(y);
        args.Add(65L);
        args.Add(1f);
        device.Launch(device.GetKernel("cn_fill"), 1, 128, 0, args);
        device.Synchronize(); // a real GPU reports the fault here; the emulator already did at the launch
    }

    [Theory, InlineData(true), InlineData(false)]
    public void Dispose_after_a_sticky_error_never_throws_frees_everything_and_keeps_the_original_exception(bool pool)
    {
        var device = EmulatorFixture.Open(stickyErrors: true);
        CudaBackend? kept = null;
        var thrown = Record.Exception(() =>
        {
            using var backend = new CudaBackend(device, CudaTestBackends.EmulatedOptions with { UseMemoryPool = pool });
            kept = backend;
            using var live = backend.Allocate(TensorShape.Nchw(2, 3, 9, 9)); // disposed after the error, during unwinding
            using (var cached = backend.Allocate(TensorShape.Vector(4096))) { } // with the pool: a cached block to trim
            // A convolution leaves workspaces behind for Dispose to return.
            var g = Conv2dSpec.Square(3, padding: 1).Resolve(live.Shape, 4);
            using var w = backend.Allocate(g.WeightShape);
            using var y = backend.Allocate(g.OutputShape);
            backend.Conv2dForward(live, w, null, y, g);
            FaultingLaunch(device);
        });

        var original = Assert.IsType<CudaException>(thrown);
        Assert.Equal(("cuLaunchKernel", "cn_fill", "CUDA_ERROR_ILLEGAL_ADDRESS"), (original.Call, original.Kernel, original.ErrorName));
        Assert.DoesNotContain("refuses further work", original.Message);
        Assert.Same(original, kept!.FatalError);
        Assert.Same(original, device.StickyError);
        Assert.Equal(0, device.BytesAllocated); // every tensor, workspace, cached block and the faulting buffer
        kept.Dispose(); // twice is fine too
    }

    [Fact]
    public void After_a_sticky_error_work_is_refused_quoting_the_first_error_and_freeing_still_works()
    {
        using var device = EmulatorFixture.Open(stickyErrors: true);
        ulong keep = device.Allocate(256);
        var first = Assert.Throws<CudaException>(() => FaultingLaunch(device));
        var refused = Assert.Throws<CudaException>(() => device.Allocate(16));
        Assert.Contains("refuses further work", refused.Message);
        Assert.Contains(first.Message, refused.Message);
        Assert.Throws<CudaException>(device.Synchronize);
        device.Free(keep); // releasing memory is never refused
        Assert.Equal(64 * 4, device.BytesAllocated); // only the faulting launch's buffer is left, for Dispose
    }

    [Fact]
    public void Without_sticky_errors_the_emulator_stays_usable_after_a_fault()
    {
        using var device = EmulatorFixture.Open();
        Assert.Throws<CudaException>(() => FaultingLaunch(device));
        Assert.Null(device.StickyError);
        device.Free(device.Allocate(16));
    }
}
