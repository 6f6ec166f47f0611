using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// The GPU's numerics, as docs/gpu-numerics.md states them per op, measured on the emulated device, which computes the
/// transcendentals with the GPU's formulas on ex2.approx/lg2.approx modelled at their documented worst error and runs
/// kernels compiled with FMA contraction (kernels/emu/cn_emulate.h). For each op the worst error against the float64
/// reference, over inputs that include the hard regions (tanh and ELU near 0, exp of large arguments, probabilities near
/// 0 and 1), must stay inside the documented bound, and that bound inside the tolerance the CUDA-vs-CPU suites use
/// (<see cref="Tolerance.CudaVsCpuFp32"/>), so the suites pass on a GPU whose math errs as its documentation allows.
/// </summary>
public sealed class GpuNumericsTests
{
    private readonly TestRng _rng = new();

    /// <summary>One op's documented error bound (docs/gpu-numerics.md); Atol/Rtol as in <see cref="Tolerance"/>.</summary>
    public sealed record Bound(string Op, double Atol, double Rtol);

    /// <summary>The table of docs/gpu-numerics.md, "transcendental ops" (keep the two in step).</summary>
    public static readonly Bound[] Documented =
    [
        new("sigmoid", 0, 2e-6),
        new("tanh", 0, 1.5e-6),
        new("elu", 0, 2e-6),
        new("softmax", 0, 4e-6),
        new("cross-entropy loss", 4e-7, 1e-6),
        new("focal loss", 4e-7, 1e-6),
    ];

    private static Bound Of(string op) => Documented.Single(b => b.Op == op);

    public static TheoryData<string> Ops => [.. Documented.Select(b => b.Op)];

    [Theory, MemberData(nameof(Ops))]
    public void Documented_bound_fits_inside_the_CUDA_vs_CPU_tolerance(string op)
    {
        var b = Of(op);
        // The CPU's own float32 result errs too (a few ulp); the bound must leave it room: at most half the tolerance.
        Assert.True(b.Atol <= Tolerance.CudaVsCpuFp32.Atol / 2 && b.Rtol <= Tolerance.CudaVsCpuFp32.Rtol / 2,
            $"{op}: documented GPU error {b} does not fit in half of the CUDA-vs-CPU tolerance {Tolerance.CudaVsCpuFp32}");
    }

    /// <summary>Worst |a - e| - (atol + rtol |e|) over the elements, and the largest relative error seen (for the report).</summary>
    private static (double WorstExcess, double MaxRel, double MaxAbs) Measure(float[] actual, double[] expected, Bound b)
    {
        double worst = double.NegativeInfinity, maxRel = 0, maxAbs = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            worst = Math.Max(worst, d - (b.Atol + b.Rtol * Math.Abs(expected[i])));
            maxAbs = Math.Max(maxAbs, d);
            if (expected[i] != 0) maxRel = Math.Max(maxRel, d / Math.Abs(expected[i]));
        }
        return (worst, maxRel, maxAbs);
    }

    private static void AssertWithin(string op, float[] actual, double[] expected)
    {
        var b = Of(op);
        var (worst, maxRel, maxAbs) = Measure(actual, expected, b);
        Assert.True(worst <= 0, $"{op}: max abs error {maxAbs:G3}, max rel error {maxRel:G3} exceed the documented {b}");
    }

    /// <summary>Inputs spanning [-range, range] plus tiny magnitudes (where 1 - e^x cancels).</summary>
    private float[] Inputs(int n, float range)
    {
        var x = _rng.Uniform(n, -range, range);
        for (int i = 0; i < n / 4; i++) x[i] = MathF.ScaleB(_rng.Next(1f, 2f) * (i % 2 == 0 ? 1 : -1), -(i % 24) - 1);
        return x;
    }

    [Theory]
    [InlineData(ActivationKind.Sigmoid, "sigmoid", 12f)]
    [InlineData(ActivationKind.Tanh, "tanh", 6f)]
    [InlineData(ActivationKind.ELU, "elu", 12f)]
    public void Activations_stay_within_their_documented_GPU_error(ActivationKind kind, string op, float range)
    {
        using var cuda = CudaTestBackends.CreateEmulated();
        var x = Inputs(4096, range);
        using var xt = cuda.Allocate(TensorShape.Vector(x.Length));
        using var y = cuda.Allocate(TensorShape.Vector(x.Length));
        xt.Upload(x);
        cuda.ActivationForward(kind, 1f, xt, y);
        AssertWithin(op, y.ToArray(), ActivationReference.ActivationForward(kind, 1.0, Array.ConvertAll(x, v => (double)v)));
    }

    [Fact]
    public void Softmax_and_the_losses_stay_within_their_documented_GPU_error()
    {
        const int rows = 64, classes = 37;
        using var cuda = CudaTestBackends.CreateEmulated();
        var shape = TensorShape.Matrix(rows, classes);
        using var x = cuda.Allocate(shape);
        using var lab = cuda.Allocate(TensorShape.Vector(rows), DataType.Int32);
        using var p = cuda.Allocate(shape);
        using var losses = cuda.Allocate(TensorShape.Vector(rows));

        // Softmax over logits spread as trained networks produce them: exp(x - max) with x - max down to -18.
        var logits = _rng.Uniform(rows * classes, -9f, 9f);
        x.Upload(logits);
        cuda.SoftmaxForward(x, p);
        AssertWithin("softmax", p.ToArray(), SoftmaxLossReference.Forward(Array.ConvertAll(logits, v => (double)v), rows, classes));

        // The losses, also on confident rows (p_t near 1, a loss near 0) and on rows whose label is very unlikely.
        for (int r = 0; r < rows / 4; r++) logits[r * classes + r % classes] = 20f;
        var labels = _rng.Labels(rows, classes);
        for (int r = 0; r < rows / 8; r++) labels[r] = r % classes;
        double[] ld = Array.ConvertAll(logits, v => (double)v);
        x.Upload(logits);
        cuda.Upload(lab, labels);
        cuda.SoftmaxCrossEntropyForward(x, lab, p, losses);
        AssertWithin("cross-entropy loss", losses.ToArray(), SoftmaxLossReference.CrossEntropyLosses(ld, labels, rows, classes));
        foreach (float gamma in new[] { 0.5f, 2f })
        {
            cuda.FocalLossForward(x, lab, gamma, p, losses);
            AssertWithin("focal loss", losses.ToArray(), SoftmaxLossReference.FocalLosses(ld, labels, rows, classes, gamma));
        }
    }

    /// <summary>
    /// The model is on, and the kernels are built for it: the emulated ex2.approx errs by its documented 2 ulp (so exp-based
    /// results are not correctly rounded: some sigmoid values differ from the correctly rounded float by more than an ulp),
    /// while tanh and ELU near 0, where the closed forms 1 - e^(-2|x|) and e^x - 1 would cancel away all relative accuracy
    /// (relative errors of 100 % and more at |x| ~ 1e-7), use their Taylor series and stay within a few ulp.
    /// </summary>
    [Fact]
    public void The_GPU_math_model_is_active_and_tanh_and_elu_keep_their_relative_accuracy_near_zero()
    {
        using var cuda = CudaTestBackends.CreateEmulated();
        var tiny = Enumerable.Range(0, 512).Select(i => MathF.ScaleB(1f + i / 512f, -26 + i % 24) * (i % 3 == 0 ? -1 : 1)).ToArray();
        using var xt = cuda.Allocate(TensorShape.Vector(tiny.Length));
        using var y = cuda.Allocate(TensorShape.Vector(tiny.Length));
        xt.Upload(tiny);
        double[] xd = Array.ConvertAll(tiny, v => (double)v);
        foreach (var kind in new[] { ActivationKind.Tanh, ActivationKind.ELU })
        {
            cuda.ActivationForward(kind, 1f, xt, y);
            var (_, maxRel, _) = Measure(y.ToArray(), ActivationReference.ActivationForward(kind, 1.0, xd), new Bound("", 0, 0));
            Assert.True(maxRel < 1e-6, $"{kind} near 0: max relative error {maxRel:G3}; the series must keep it at a few ulp");
        }

        var x = _rng.Uniform(4096, -12f, 12f);
        using var xs = cuda.Allocate(TensorShape.Vector(x.Length));
        using var s = cuda.Allocate(TensorShape.Vector(x.Length));
        xs.Upload(x);
        cuda.ActivationForward(ActivationKind.Sigmoid, 0f, xs, s);
        var sig = s.ToArray();
        int beyondOneUlp = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float rounded = (float)(1.0 / (1.0 + Math.Exp(-(double)x[i])));
            if (Math.Abs(sig[i] - rounded) > MathF.BitIncrement(Math.Abs(rounded)) - Math.Abs(rounded)) beyondOneUlp++;
        }
        Assert.True(beyondOneUlp > 0, "every sigmoid is within an ulp of the correctly rounded value: the emulated device is not modelling ex2.approx");
    }

    /// <summary>
    /// The model is on: SGD's p - lr*g is one fused multiply-add on a GPU (and in the emulated kernels), which rounds once;
    /// the CPU rounds the product and the difference separately. Some elements must differ in the last bits, and none by
    /// more than those two roundings: so no test may compare optimizer results bit for bit between CUDA and the CPU.
    /// </summary>
    [Fact]
    public void Sgd_step_is_fused_on_the_GPU_and_differs_from_the_CPU_by_at_most_the_roundings_fusion_saves()
    {
        const int n = 4096;
        var param = _rng.Uniform(n);
        var grad = _rng.Uniform(n);
        float[] Step(IBackend b)
        {
            using var p = b.Allocate(TensorShape.Vector(n));
            using var g = b.Allocate(TensorShape.Vector(n));
            using var v = b.Allocate(TensorShape.Vector(n));
            p.Upload(param);
            g.Upload(grad);
            b.SgdStep(p, g, v, 0.0937f, 0f, 0f, nesterov: false);
            return p.ToArray();
        }
        using var cuda = CudaTestBackends.CreateEmulated();
        using var cpu = Backend.Cpu(TestBackends.CpuThreads);
        var onCuda = Step(cuda);
        var onCpu = Step(cpu);
        int differ = 0;
        for (int i = 0; i < n; i++)
        {
            if (onCuda[i] == onCpu[i]) continue;
            differ++;
            // One rounding fewer: the two differ by at most the product's rounding error plus the result's, an ulp of each.
            float product = Math.Abs(0.0937f * grad[i]);
            double allowed = (MathF.BitIncrement(product) - product) + (MathF.BitIncrement(Math.Abs(onCpu[i])) - Math.Abs(onCpu[i]));
            Assert.True(Math.Abs((double)onCuda[i] - onCpu[i]) <= allowed,
                $"element {i}: CUDA {onCuda[i]:R} vs CPU {onCpu[i]:R} differ by more than the rounding of lr*g and of the result");
        }
        Assert.True(differ > 0, "no element differs: the emulated kernels are not compiled with FMA contraction");
    }
}
