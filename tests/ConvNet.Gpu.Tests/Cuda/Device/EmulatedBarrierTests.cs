using Xunit;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// __syncthreads semantics of the emulator, through a shipped shared-memory tree reduction
/// (cn_reduce_sum_block: y[o] = sum_r x[o, r], one block per output, grid-stride over outputs). The emulator poisons
/// shared memory before every block and runs threads between barriers in ascending order in even blocks and
/// descending order in odd blocks, so a reduction whose barriers did not hold would read NaN or stale partial sums.
/// </summary>
public sealed class EmulatedBarrierTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]      // non-power-of-two block: the fold-in step above the largest power of two
    [InlineData(3, 64)]
    [InlineData(2, 255)]
    [InlineData(5, 256)]
    [InlineData(1, 1024)]   // more threads than some rows have elements
    public void Block_tree_reduction_is_exact_at_every_block_size_and_grid(int gridBlocks, int blockThreads)
    {
        using var device = EmulatorFixture.Open();
        const int outputs = 7, reduce = 1000;
        var rng = new Random(blockThreads);
        // Small integers: every partial sum is exact in float, so the result must equal the double sum bit for bit.
        float[] x = Enumerable.Range(0, outputs * reduce).Select(_ => (float)rng.Next(-8, 9)).ToArray();
        ulong dx = EmulatorFixture.Upload(device, x);
        ulong dy = device.Allocate(outputs * 4);

        var args = new KernelArgs();
        args.AddPointer(dx);
        args.AddPointer(dy);
        args.Add((long)outputs);
        args.Add(reduce);
        args.Add(1L);  // inner
        args.Add(0);   // overwrite
        device.Launch(device.GetKernel("cn_reduce_sum_block"), gridBlocks, blockThreads, 0, args);

        float[] y = EmulatorFixture.Download(device, dy, outputs);
        for (int o = 0; o < outputs; o++)
        {
            double expected = 0;
            for (int r = 0; r < reduce; r++) expected += x[o * reduce + r];
            Assert.Equal((float)expected, y[o]);
        }
        device.Free(dx);
        device.Free(dy);
    }
}
