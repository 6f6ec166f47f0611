using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Nn;
using Xunit;

namespace ConvNet.Gpu.Tests.Nn;

/// <summary>
/// Caffe-style float32 gradient checker for a built layer on its backend (Caffe's GradientChecker,
/// include/caffe/test/test_gradient_check_util.hpp): objective L = sum(G ∘ y) with a fixed random G, central
/// differences with <see cref="Step"/>, and pass when |analytic - numeric| &lt;= Threshold * max(|analytic|, |numeric|, 1).
/// Checks the input gradient and every parameter gradient (a deterministic sample of elements when they are many).
/// </summary>
internal sealed class LayerGradientChecker(float step, float threshold)
{
    public float Step { get; } = step;
    public float Threshold { get; } = threshold;

    /// <summary>Elements checked per tensor at most (chosen with a fixed stride so every region is visited).</summary>
    public int MaxChecksPerTensor { get; init; } = 60;

    /// <summary>Called before every forward pass (e.g. to rewind a dropout counter so the mask stays fixed).</summary>
    public Action? BeforeForward { get; init; }

    /// <summary>Input elements to skip (e.g. within the step of a ReLU kink).</summary>
    public Func<float[], int, bool>? SkipInput { get; init; }

    /// <summary>Parameter elements to skip, by (parameter index, element index) (e.g. weights pinned by a connection mask).</summary>
    public Func<int, int, bool>? SkipParameter { get; init; }

    /// <summary>Runs the check; <paramref name="x"/> is the host input batch (N x layer input sample).</summary>
    public void Check(Layer layer, float[] x, int batch, ulong seed, string label)
    {
        var backend = layer.Backend;
        using var input = backend.Allocate(Shapes.Batch(layer.InputShape, batch));
        input.Upload(x);
        BeforeForward?.Invoke();
        var y = layer.Forward(input, training: true);
        var rng = new HostRandom(seed);
        var g = new float[y.ElementCount];
        for (int i = 0; i < g.Length; i++) g[i] = rng.NextUniform(-1f, 1f);
        using var gT = backend.Allocate(y.Shape);
        gT.Upload(g);
        bool wantInput = layer.RequiresInputGradient;
        var dx = layer.Backward(gT);
        float[]? analyticInput = wantInput ? dx!.ToArray() : null;
        var analyticParams = layer.Parameters.Select(p => p.Gradient.ToArray()).ToArray();

        double Objective()
        {
            BeforeForward?.Invoke();
            var yy = layer.Forward(input, training: true).ToArray();
            double s = 0;
            for (int i = 0; i < yy.Length; i++) s += (double)g[i] * yy[i];
            return s;
        }

        var failures = new List<string>();
        if (analyticInput is not null)
        {
            var xs = (float[])x.Clone();
            foreach (int i in Sample(xs.Length))
            {
                if (SkipInput?.Invoke(x, i) == true) continue;
                float orig = xs[i];
                xs[i] = orig + Step; input.Upload(xs); double plus = Objective();
                xs[i] = orig - Step; input.Upload(xs); double minus = Objective();
                xs[i] = orig; input.Upload(xs);
                Compare(failures, $"d/dx[{i}]", analyticInput[i], (plus - minus) / (2 * Step));
            }
        }
        for (int p = 0; p < layer.Parameters.Count; p++)
        {
            var param = layer.Parameters[p];
            var values = param.Value.ToArray();
            foreach (int j in Sample(values.Length))
            {
                if (SkipParameter?.Invoke(p, j) == true) continue;
                float orig = values[j];
                values[j] = orig + Step; param.Value.Upload(values); double plus = Objective();
                values[j] = orig - Step; param.Value.Upload(values); double minus = Objective();
                values[j] = orig; param.Value.Upload(values);
                Compare(failures, $"d/d{param.Name}[{j}]", analyticParams[p][j], (plus - minus) / (2 * Step));
            }
        }
        Assert.True(failures.Count == 0,
            $"{label}: {failures.Count} gradient mismatches (step {Step}, threshold {Threshold}):\n" + string.Join("\n", failures.Take(12)));
    }

    private IEnumerable<int> Sample(int length)
    {
        if (length <= MaxChecksPerTensor) { for (int i = 0; i < length; i++) yield return i; yield break; }
        double stride = (double)length / MaxChecksPerTensor;
        for (int k = 0; k < MaxChecksPerTensor; k++) yield return (int)(k * stride + stride / 2);
    }

    private void Compare(List<string> failures, string what, double analytic, double numeric)
    {
        double scale = Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), 1.0);
        if (!(Math.Abs(analytic - numeric) <= Threshold * scale))
            failures.Add($"  {what}: analytic {analytic:G6}, numeric {numeric:G6}, |diff| {Math.Abs(analytic - numeric):G3} > {Threshold * scale:G3}");
    }
}
