using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// Layer behaviour beyond gradients, on one backend: hand-computed forward values (LeNet subsampling, batch-norm
/// evaluation), the transposed convolution as the exact adjoint of the convolution, dropout reproducibility,
/// and workspace re-allocation when the batch size changes.
/// </summary>
public abstract class LayerBehaviourSuite : IDisposable
{
    /// <summary>Takes the backend under test (disposed with the suite).</summary>
    protected LayerBehaviourSuite(IBackend backend) => B = backend;

    /// <summary>The backend under test.</summary>
    protected IBackend B { get; }

    private Tensor Upload(TensorShape shape, float[] data)
    {
        var t = B.Allocate(shape);
        t.Upload(data);
        return t;
    }

    private static float[] Uniform(long count, ulong seed)
    {
        var r = new HostRandom(seed);
        var a = new float[count];
        for (int i = 0; i < a.Length; i++) a[i] = r.NextUniform(-1f, 1f);
        return a;
    }

    [Fact]
    public void SubsamplingIsTheWindowSumTimesACoefficientPlusABias()
    {
        using var layer = new Subsampling2D(2);
        layer.Build(B, Shapes.Image(1, 2, 4), 1);
        layer.Weight.Value.Upload([0.5f]);
        layer.Bias.Value.Upload([0.1f]);
        using var x = Upload(TensorShape.Nchw(1, 1, 2, 4), [1, 2, 3, 4, 5, 6, 7, 8]);
        // (1+2+5+6)*0.5 + 0.1 = 7.1 and (3+4+7+8)*0.5 + 0.1 = 11.1 (seed 003: (a1+a2+a3+a4)*w + b).
        var y = layer.Forward(x, training: true).ToArray();
        Assert.Equal(7.1f, y[0], 5);
        Assert.Equal(11.1f, y[1], 5);
    }

    [Theory]
    [InlineData(3)] // one mean and std per channel
    [InlineData(1)] // one pair for every channel
    public void NormalizeSubtractsTheMeanAndDividesByTheStdOfEachChannel(int statistics)
    {
        float[] mean = statistics == 3 ? [0.4914f, 0.4822f, -0.4465f] : [0.2860f];
        float[] std = statistics == 3 ? [0.2470f, 0.2435f, 2.2616f] : [0.3530f];
        using var layer = new Normalize(mean, std);
        layer.Build(B, Shapes.Image(3, 4, 5), 1);
        var x = Uniform(2 * 3 * 20, 17);
        using var input = Upload(TensorShape.Nchw(2, 3, 4, 5), x);
        foreach (bool training in new[] { false, true })
        {
            var y = layer.Forward(input, training).ToArray();
            for (int i = 0; i < y.Length; i++)
            {
                int c = statistics == 1 ? 0 : i / 20 % 3;
                double expected = ((double)x[i] - mean[c]) / std[c]; // float64 reference
                Assert.True(Math.Abs(y[i] - expected) <= 1e-6 + 4e-7 * Math.Abs(expected), $"y[{i}] = {y[i]}, expected {expected}");
            }
        }
        Assert.Equal(0, layer.TrainableParameterCount);
        Assert.Empty(layer.Parameters);
        Assert.Empty(layer.State);
        var e = Assert.Throws<ShapeMismatchException>(() => new Normalize([0f, 0f], [1f, 1f]).ComputeOutputShape(Shapes.Image(3, 2, 2)));
        Assert.Contains("statistics for 2 channels but its input (C=3, H=2, W=2) has 3", e.Message);
    }

    [Fact]
    public void BatchNormEvaluationUsesTheRunningStatistics()
    {
        using var bn = new BatchNorm2D(momentum: 1f, epsilon: 1e-5f);
        bn.Build(B, Shapes.Features(1), 1);
        using var x = Upload(TensorShape.Matrix(4, 1), [1, 2, 3, 6]);
        // Training: mean 3, biased variance 14/4 = 3.5, so y(6) = 3 / sqrt(3.5 + 1e-5).
        Assert.Equal(3 / MathF.Sqrt(3.5f + 1e-5f), bn.Forward(x, training: true).ToArray()[3], 5);
        // With momentum 1 the running statistics become the batch mean 3 and the unbiased variance 14/3.
        Assert.Equal(3f, bn.RunningMean.ToArray()[0], 5);
        Assert.Equal(14f / 3, bn.RunningVariance.ToArray()[0], 5);
        Assert.Equal(3 / MathF.Sqrt(14f / 3 + 1e-5f), bn.Forward(x, training: false).ToArray()[3], 5);
    }

    [Theory]
    [InlineData(3, 2, 1, 1, 1)]
    [InlineData(4, 3, 2, 0, 2)]
    public void TransposedConvolutionIsTheAdjointOfConvolution(int kernel, int stride, int padding, int outputPadding, int dilation)
    {
        // <convT(x), y> = <x, conv(y)> for the same weights: the defining property of the transposed convolution.
        using var convT = new ConvTranspose2D(2, kernel, stride, padding, outputPadding, dilation, useBias: false);
        convT.Build(B, Shapes.Image(3, 4, 5), 3);
        var outShape = convT.OutputShape;
        using var conv = new Conv2D(3, new Conv2dSpec(kernel, kernel, stride, stride, Padding2d.Symmetric(padding), dilation, dilation), useBias: false);
        conv.Build(B, outShape, 4);
        conv.Weight.Value.Upload(convT.Weight.Value.ToArray());
        var xs = Uniform(2 * 3 * 20, 5);
        var ys = Uniform(Shapes.Batch(outShape, 2).ElementCount, 6);
        using var x = Upload(Shapes.Batch(convT.InputShape, 2), xs);
        using var y = Upload(Shapes.Batch(outShape, 2), ys);
        var tx = convT.Forward(x, training: false).ToArray();
        var cy = conv.Forward(y, training: false).ToArray();
        double left = tx.Zip(ys).Sum(p => (double)p.First * p.Second);
        double right = xs.Zip(cy).Sum(p => (double)p.First * p.Second);
        Assert.True(Math.Abs(left - right) <= 1e-4 * Math.Max(1, Math.Abs(left)), $"<convT x, y> = {left} but <x, conv y> = {right}");
    }

    [Fact]
    public void DropoutMasksAreSeededAdvanceEveryStepAndVanishInEvaluation()
    {
        using var a = new Dropout(0.25f, seed: 11);
        using var b = new Dropout(0.25f, seed: 11);
        a.Build(B, Shapes.Features(1000), 0);
        b.Build(B, Shapes.Features(1000), 0);
        var ones = Enumerable.Repeat(1f, 2000).ToArray();
        using var x = Upload(TensorShape.Matrix(2, 1000), ones);
        var a1 = a.Forward(x, training: true).ToArray();
        var a2 = a.Forward(x, training: true).ToArray();
        var b1 = b.Forward(x, training: true).ToArray();
        Assert.Equal(a1, b1);                 // same seed and counter, same mask
        Assert.NotEqual(a1, a2);              // the counter advanced
        Assert.Equal(4000UL, a.Counter);
        Assert.All(a1, v => Assert.True(v == 0f || Math.Abs(v - 1 / 0.75f) < 1e-6));
        double kept = a1.Count(v => v != 0) / 2000.0;
        Assert.InRange(kept, 0.72, 0.78);
        // Masks follow DropoutRng exactly: element i of the first call keeps iff u(seed, i) >= p.
        for (int i = 0; i < 50; i++) Assert.Equal(DropoutRng.Uniform(11, (ulong)i) >= 0.25f, a1[i] != 0);
        Assert.Equal(ones, a.Forward(x, training: false).ToArray());
    }

    [Fact]
    public void ASmallerLastBatchReallocatesTheWorkspace()
    {
        using var model = new Sequential(B, (1, 6, 6), seed: 2)
            .Add(new Conv2D(3, 3), new ReLU(), new MaxPool2D(2), new Flatten(), new Dense(4));
        var xs = Uniform(4 * 36, 9);
        using var x4 = Upload(TensorShape.Nchw(4, 1, 6, 6), xs);
        var y4 = model.Forward(x4, training: true).ToArray();
        using var x2 = Upload(TensorShape.Nchw(2, 1, 6, 6), xs[..72]);
        var y2 = model.Forward(x2, training: true);
        Assert.Equal(2, y2.Shape[0]);
        Assert.Equal(y4[..8], y2.ToArray());
        var again = model.Forward(x4, training: true).ToArray();
        Assert.Equal(y4, again);
    }

    [Fact]
    public void WrongInputShapesAreRejectedWithTheLayerName()
    {
        using var dense = new Dense(3, name: "head");
        dense.Build(B, Shapes.Features(4), 1);
        using var x = B.Allocate(TensorShape.Matrix(2, 5));
        var e = Assert.Throws<ShapeMismatchException>(() => dense.Forward(x, training: false));
        Assert.Contains("'head'", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidGeometryException>(() => new ConvTranspose2D(2, 3, stride: 2, outputPadding: 2));
        Assert.Throws<ConvNetArgumentException>(() => new Dropout(1f));
    }

    /// <summary>Frees the backend.</summary>
    public void Dispose()
    {
        B.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Layer behaviour on the CPU backend.</summary>
public sealed class LayerBehaviour_Cpu() : LayerBehaviourSuite(Backend.Cpu(2));
