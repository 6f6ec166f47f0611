using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// Memory of the graph engine: a chain built with the functional API peaks exactly where the same Sequential does, and
/// a backward pass holds only the input gradients alive at once (recycled through the arena) instead of one per layer.
/// </summary>
public sealed class GraphMemoryTests
{
    private static Sequential VggLike(IBackend b) =>
        new Sequential(b, (1, 16, 16), seed: 3)
            .Add(new Conv2D(8, 3, padding: 1), new BatchNorm2D(), new ReLU(), new Conv2D(8, 3, padding: 1), new ReLU(), new MaxPool2D(2))
            .Add(new Conv2D(16, 3, padding: 1), new ReLU(), new MaxPool2D(2), new Flatten(), new Dense(32), new ReLU(), new Dense(10));

    private static Model FunctionalVggLike(IBackend b)
    {
        var x = Model.Input((1, 16, 16));
        SymbolicTensor h = x;
        foreach (var layer in new Layer[]
                 {
                     new Conv2D(8, 3, padding: 1), new BatchNorm2D(), new ReLU(), new Conv2D(8, 3, padding: 1), new ReLU(), new MaxPool2D(2),
                     new Conv2D(16, 3, padding: 1), new ReLU(), new MaxPool2D(2), new Flatten(), new Dense(32), new ReLU(), new Dense(10),
                 })
            h = layer.Call(h);
        return new Model(b, x, h, seed: 3);
    }

    private static long Peak(Func<IBackend, Model> build, out Model kept, IBackend backend, int batch = 8)
    {
        kept = build(backend);
        using var input = backend.Allocate(TensorShape.Nchw(batch, 1, 16, 16));
        input.Upload(Enumerable.Range(0, batch * 256).Select(i => (float)Math.Cos(i)).ToArray());
        using var g = backend.Allocate(TensorShape.Matrix(batch, 10));
        g.Upload(Enumerable.Range(0, batch * 10).Select(i => (float)Math.Sin(i)).ToArray());
        for (int step = 0; step < 2; step++)
        {
            kept.Forward(input, training: true);
            kept.Backward(g);
        }
        return backend.GetMemoryStats().PeakBytesInUse;
    }

    [Fact]
    public void AFunctionalChainPeaksExactlyLikeTheSequentialOne()
    {
        using var b1 = Backend.Cpu(1);
        using var b2 = Backend.Cpu(1);
        long sequential = Peak(VggLike, out var m1, b1), functional = Peak(FunctionalVggLike, out var m2, b2);
        m1.Dispose();
        m2.Dispose();
        Assert.Equal(sequential, functional);
    }

    [Fact]
    public void BackwardHoldsOnlyTheGradientsAliveAtOnce()
    {
        using var b = Backend.Cpu(1);
        Peak(VggLike, out var model, b);
        using (model)
        {
            // What one input-gradient buffer per layer would hold: every layer but the first (which needs none).
            long perLayer = model.Layers.Skip(1).Sum(l => l.InputShape.ElementCount * 8 * 4);
            long largest = model.Layers.Skip(1).Max(l => l.InputShape.ElementCount * 8 * 4);
            var arena = model.GradientArena;
            Assert.Equal(0, arena.RentedCount);                    // every gradient went back after the pass
            Assert.True(arena.ByteCount <= 2 * largest, $"arena {arena.ByteCount} bytes > 2 x the largest gradient ({largest})");
            Assert.True(arena.ByteCount < perLayer / 2, $"arena {arena.ByteCount} bytes vs {perLayer} for one buffer per layer");
        }
    }
}
