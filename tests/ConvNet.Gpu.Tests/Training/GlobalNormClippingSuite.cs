using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Parameters;
using ConvNet.Gpu.Tests.Cuda;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// Gradient clipping by global norm on the device against a float64 host oracle: min(1, max / ‖g‖) · g over every
/// gradient, the norm taken over all of them together; gradients under the limit are left unchanged.
/// </summary>
public abstract class GlobalNormClippingSuite(IBackend backend) : IDisposable
{
    private readonly IBackend _b = backend;

    public void Dispose() => _b.Dispose();

    private List<Parameter> RandomGradients(ulong seed, params int[] sizes)
    {
        var r = new HostRandom(seed);
        var list = new List<Parameter>();
        foreach (int n in sizes)
        {
            var p = new Parameter($"p{list.Count}", _b.Allocate(TensorShape.Vector(n)), n);
            p.Gradient.Upload(Enumerable.Range(0, n).Select(_ => r.NextUniform(-1f, 1f)).ToArray());
            list.Add(p);
        }
        return list;
    }

    [Theory]
    [InlineData(0.5f)]   // far below the norm: every gradient scaled
    [InlineData(3f)]     // close to it
    [InlineData(1000f)]  // above it: unchanged
    public void Clips_every_gradient_by_the_global_norm(float maxNorm)
    {
        var parameters = RandomGradients(7, 5, 130, 1, 64);
        var before = parameters.Select(p => p.Gradient.ToArray()).ToArray();
        double norm = Math.Sqrt(before.Sum(g => g.Sum(v => (double)v * v)));
        double factor = Math.Min(1.0, maxNorm / norm);
        using var clip = new GlobalNormClipping(maxNorm);
        clip.OnGradients(parameters, 0);
        Assert.Equal(norm, clip.ReadLastNorm()!.Value, 4);
        for (int i = 0; i < parameters.Count; i++)
        {
            var after = parameters[i].Gradient.ToArray();
            for (int j = 0; j < after.Length; j++)
                Assert.True(Math.Abs(after[j] - before[i][j] * factor) <= 1e-6 + 1e-5 * Math.Abs(before[i][j] * factor),
                    $"parameter {i} element {j}: {after[j]} vs {before[i][j] * factor}");
        }
        double newNorm = Math.Sqrt(parameters.Sum(p => p.Gradient.ToArray().Sum(v => (double)v * v)));
        Assert.True(newNorm <= maxNorm * (1 + 1e-5), $"norm after clipping {newNorm} > {maxNorm}");
        foreach (var p in parameters) p.Dispose();
    }

    [Fact]
    public void All_zero_gradients_stay_zero()
    {
        var parameters = RandomGradients(1, 4, 9);
        foreach (var p in parameters) _b.Fill(p.Gradient, 0f);
        using var clip = new GlobalNormClipping(1f);
        clip.OnGradients(parameters, 0);
        Assert.All(parameters, p => Assert.All(p.Gradient.ToArray(), v => Assert.Equal(0f, v)));
        foreach (var p in parameters) p.Dispose();
    }

    [Fact]
    public void Fit_clips_before_the_update()
    {
        // One SGD step at rate 1 moves the weights by exactly the clipped gradient: the move's norm is the limit.
        using var model = new Sequential(_b, (1, 8, 8), seed: 3).Add(new Flatten(), new Dense(3));
        using var opt = new Sgd(1f);
        var before = model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        new Trainer(model, opt).Fit(SyntheticData.Squares(16, 1), new TrainingOptions { Epochs = 1, BatchSize = 16, GradientClipNorm = 0.01f });
        double moved = 0;
        for (int i = 0; i < before.Length; i++)
        {
            var after = model.Parameters[i].Value.ToArray();
            for (int j = 0; j < after.Length; j++) moved += Math.Pow((double)after[j] - before[i][j], 2);
        }
        Assert.Equal(0.01, Math.Sqrt(moved), 5);
        Assert.Throws<ConvNetArgumentException>(() => new GlobalNormClipping(0f));
    }
}

/// <summary>Global-norm clipping on the CPU backend.</summary>
public sealed class GlobalNormClipping_Cpu() : GlobalNormClippingSuite(Backend.Cpu(2));

/// <summary>Global-norm clipping on CUDA (emulated).</summary>
public sealed class GlobalNormClipping_CudaEmulated() : GlobalNormClippingSuite(CudaTestBackends.CreateEmulated());
