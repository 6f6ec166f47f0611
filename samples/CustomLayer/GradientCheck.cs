using ConvNet.Gpu;
using ConvNet.Gpu.Nn;

/// <summary>
/// Central-difference gradient check of one layer through the public API: for L = Σ G ⊙ layer(x) with a random
/// upstream gradient G, the layer's Backward gives dL/dx and every parameter's gradient; each is compared with
/// (L(v + ε) − L(v − ε)) / 2ε, element by element, with L summed in float64.
/// </summary>
internal static class GradientCheck
{
    /// <summary>Builds <paramref name="layer"/> on the CPU and returns the largest relative error over all inputs and parameters.</summary>
    public static double Run(Layer layer, TensorShape sampleShape, int batch, float epsilon = 1e-2f)
    {
        using var cpu = Backend.Cpu();
        layer.Build(cpu, sampleShape, seed: 11);
        var rng = new Random(5);
        var shape = Shapes.Batch(sampleShape, batch);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // Random parameters too, so a gradient that ignores them (e.g. γ = 1, β = 0) cannot pass by accident.
        foreach (var p in layer.Parameters) p.Value.Upload(Random(p.Value.ElementCount));

        using var x = cpu.Allocate(shape);
        using var g = cpu.Allocate(shape);
        var xHost = Random(shape.ElementCount);
        var gHost = Random(shape.ElementCount);
        x.Upload(xHost);
        g.Upload(gHost);

        layer.Forward(x, training: true);
        var dx = layer.Backward(g)!.ToArray();
        var analytic = layer.Parameters.Select(p => p.Gradient.ToArray()).ToList();

        double Loss()
        {
            var y = layer.Forward(x, training: true).ToArray();
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += (double)gHost[i] * y[i];
            return sum;
        }

        double worst = 0;
        void Compare(double exact, double plus, double minus)
        {
            double numeric = (plus - minus) / (2.0 * epsilon);
            worst = Math.Max(worst, Math.Abs(exact - numeric) / Math.Max(1.0, Math.Max(Math.Abs(exact), Math.Abs(numeric))));
        }

        for (int i = 0; i < xHost.Length; i++)
        {
            float keep = xHost[i];
            xHost[i] = keep + epsilon; x.Upload(xHost); double plus = Loss();
            xHost[i] = keep - epsilon; x.Upload(xHost); double minus = Loss();
            xHost[i] = keep; x.Upload(xHost);
            Compare(dx[i], plus, minus);
        }
        for (int k = 0; k < layer.Parameters.Count; k++)
        {
            var value = layer.Parameters[k].Value;
            var host = value.ToArray();
            for (int i = 0; i < host.Length; i++)
            {
                float keep = host[i];
                host[i] = keep + epsilon; value.Upload(host); double plus = Loss();
                host[i] = keep - epsilon; value.Upload(host); double minus = Loss();
                host[i] = keep; value.Upload(host);
                Compare(analytic[k][i], plus, minus);
            }
        }
        layer.Dispose();
        return worst;
    }
}
