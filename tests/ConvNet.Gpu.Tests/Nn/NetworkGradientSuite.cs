using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Losses;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// A small whole network checked layer by layer (Caffe's CheckGradientNet): every layer's gradients are checked at the
/// inputs it actually receives inside the network; then the end-to-end loss gradient of the first layer's weights is
/// checked against finite differences of the mean cross-entropy.
/// </summary>
public abstract class NetworkGradientSuite : IDisposable
{
    /// <summary>Takes the backend under test (disposed with the suite).</summary>
    protected NetworkGradientSuite(IBackend backend) => B = backend;

    /// <summary>The backend under test.</summary>
    protected IBackend B { get; }

    private Sequential Net() =>
        new Sequential(B, (2, 8, 8), seed: 5)
            .Add(new Conv2D(3, 3, padding: 1), new Tanh(), new Subsampling2D(2, Initializer.GlorotUniform))
            .Add(new Conv2D(4, 3), new BatchNorm2D(), new Sigmoid(), new AvgPool2D(2))
            .Add(new Flatten(), new Dense(5), new Tanh(), new Dense(3));

    private static float[] Input(int count, ulong seed)
    {
        var r = new HostRandom(seed);
        return Enumerable.Range(0, count).Select(_ => r.NextUniform(-1f, 1f)).ToArray();
    }

    [Fact]
    public void EveryLayerChecksAtItsActualInput()
    {
        using var net = Net();
        int n = 2;
        var x = Input(n * 2 * 64, 1);
        // Collect each layer's actual input by running the network forward once.
        var inputs = new List<float[]>();
        using (var t = B.Allocate(Shapes.Batch(net.InputShape, n)))
        {
            t.Upload(x);
            Tensor h = t;
            foreach (var layer in net.Layers)
            {
                inputs.Add(h.ToArray());
                h = layer.Forward(h, training: true);
            }
        }
        var checker = new LayerGradientChecker(1e-2f, 1e-3f) { MaxChecksPerTensor = 30 };
        for (int i = 0; i < net.Layers.Count; i++)
        {
            var layer = net.Layers[i];
            bool wanted = layer.RequiresInputGradient;
            layer.RequiresInputGradient = true;
            var c = layer is AvgPool2D or Subsampling2D ? new LayerGradientChecker(1e-2f, 1e-2f) { MaxChecksPerTensor = 30 } : checker;
            c.Check(layer, inputs[i], n, (ulong)(100 + i), $"layer {i} '{layer.Name}' ({layer.TypeName}) in the network [{B.Name}]");
            layer.RequiresInputGradient = wanted;
        }
    }

    [Fact]
    public void EndToEndLossGradientOfTheFirstWeights()
    {
        using var net = Net();
        using var loss = new SoftmaxCrossEntropyLoss();
        int n = 3;
        using var x = B.Allocate(Shapes.Batch(net.InputShape, n));
        x.Upload(Input(n * 2 * 64, 2));
        using var labels = B.Allocate(TensorShape.Vector(n), DataType.Int32);
        labels.Upload([0, 2, 1]);
        loss.Forward(net.Forward(x, training: true), labels);
        net.Backward(loss.Backward());
        var w = net.Parameters[0];
        var analytic = w.Gradient.ToArray();
        var values = w.Value.ToArray();
        const float h = 1e-2f;
        for (int j = 0; j < values.Length; j += 3)
        {
            float orig = values[j];
            values[j] = orig + h; w.Value.Upload(values); double plus = loss.Forward(net.Forward(x, training: true), labels);
            values[j] = orig - h; w.Value.Upload(values); double minus = loss.Forward(net.Forward(x, training: true), labels);
            values[j] = orig; w.Value.Upload(values);
            double numeric = (plus - minus) / (2 * h);
            double scale = Math.Max(Math.Max(Math.Abs(analytic[j]), Math.Abs(numeric)), 1);
            Assert.True(Math.Abs(analytic[j] - numeric) <= 1e-3 * scale, $"dL/dw[{j}]: analytic {analytic[j]}, numeric {numeric}");
        }
    }

    /// <summary>Frees the backend.</summary>
    public void Dispose()
    {
        B.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The whole-network checks on the CPU backend.</summary>
public sealed class NetworkGradients_Cpu() : NetworkGradientSuite(Backend.Cpu(2));
