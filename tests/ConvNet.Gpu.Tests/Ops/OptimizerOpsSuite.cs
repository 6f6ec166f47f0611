using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>SGD (plain, momentum, Nesterov, weight decay) and Adam/AdamW over several steps against <see cref="OptimizerReference"/>.</summary>
public abstract class OptimizerOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    private const int Length = 257, Steps = 4;

    public static TheoryData<float, float, bool> SgdCases => new()
    {
        { 0f, 0f, false }, { 0f, 1e-2f, false }, { 0.9f, 0f, false }, { 0.9f, 5e-3f, false }, { 0.9f, 0f, true }, { 0.5f, 1e-2f, true },
    };

    [Theory, MemberData(nameof(SgdCases))]
    public void SgdStepsMatchReference(float momentum, float weightDecay, bool nesterov)
    {
        const float lr = 0.05f;
        var p0 = Rng.Uniform(Length);
        var v0 = Rng.Uniform(Length);
        var grads = Enumerable.Range(0, Steps).Select(_ => Rng.Uniform(Length)).ToArray();
        double[] p = D(p0), v = D(v0);
        foreach (var g in grads) OptimizerReference.Sgd(p, D(g), v, lr, momentum, weightDecay, nesterov);
        var s = TensorShape.Vector(Length);
        Verify($"SgdStep x{Steps} momentum={momentum} wd={weightDecay} nesterov={nesterov}", (b, r) =>
        {
            var pi = In(b, p0, s); var vi = In(b, v0, s);
            foreach (var g in grads) b.SgdStep(pi, In(b, g, s), vi, lr, momentum, weightDecay, nesterov);
            r.Add("param", pi, OpKind.Pointwise).Add("velocity", vi, OpKind.Pointwise);
        }, Expect(("param", p), ("velocity", v)));
    }

    public static TheoryData<float, bool> AdamCases => new() { { 0f, false }, { 1e-2f, false }, { 1e-2f, true }, { 0.1f, true } };

    [Theory, MemberData(nameof(AdamCases))]
    public void AdamStepsMatchReference(float weightDecay, bool decoupled)
    {
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        var p0 = Rng.Uniform(Length);
        var grads = Enumerable.Range(0, Steps).Select(_ => Rng.Uniform(Length)).ToArray();
        double[] p = D(p0), m = new double[Length], v = new double[Length];
        for (int t = 1; t <= Steps; t++) OptimizerReference.Adam(p, D(grads[t - 1]), m, v, lr, b1, b2, eps, weightDecay, decoupled, t);
        var s = TensorShape.Vector(Length);
        Verify($"AdamStep x{Steps} wd={weightDecay} decoupled={decoupled}", (b, r) =>
        {
            var pi = In(b, p0, s); var mi = In(b, new float[Length], s); var vi = In(b, new float[Length], s);
            for (int t = 1; t <= Steps; t++) b.AdamStep(pi, In(b, grads[t - 1], s), mi, vi, lr, b1, b2, eps, weightDecay, decoupled, t);
            r.Add("param", pi, OpKind.Pointwise).Add("m", mi, OpKind.Pointwise).Add("v", vi, OpKind.Pointwise);
        }, Expect(("param", p), ("m", m), ("v", v)));
    }

    [Fact]
    public void SgdWithoutMomentumLeavesVelocityUntouched()
    {
        var s = TensorShape.Vector(Length);
        var v0 = Rng.Uniform(Length);
        var vi = In(B, v0, s);
        B.SgdStep(In(B, Rng.Uniform(Length), s), In(B, Rng.Uniform(Length), s), vi, 0.1f, 0f, 0f, false);
        TensorAssert.Equal(vi.ToArray(), v0, s, "velocity after a momentum-0 step");
    }

    [Fact]
    public void OptimizersAreDeterministic()
    {
        var s = TensorShape.Vector(4099);
        var p0 = Rng.Uniform(4099);
        var g = Rng.Uniform(4099);
        AssertDeterministic("optimizers", (b, r) =>
        {
            var p = In(b, p0, s); var v = In(b, new float[4099], s);
            var q = In(b, p0, s); var m = In(b, new float[4099], s); var w = In(b, new float[4099], s);
            var gi = In(b, g, s);
            for (int t = 1; t <= 3; t++)
            {
                b.SgdStep(p, gi, v, 0.1f, 0.9f, 1e-4f, true);
                b.AdamStep(q, gi, m, w, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, true, t);
            }
            r.Add("sgd", p, OpKind.Pointwise).Add("adam", q, OpKind.Pointwise);
        });
    }

    // ------------------------------------------------------------------ multi-tensor updates

    /// <summary>Parameter sizes of a table: a single element, sizes around the 4,096-element chunk, several chunks.</summary>
    private static readonly int[] TableSizes = [5000, 1, 300, 4096, 8193];

    private (Tensor Scalars, ParameterTable Table, Tensor[][] Rows) MakeTable(IBackend b, float[][] values, float[][][] state)
    {
        var rows = new Tensor[values.Length][];
        for (int i = 0; i < values.Length; i++)
        {
            var s = TensorShape.Vector(values[i].Length);
            rows[i] = [In(b, values[i], s), Out(b, s), .. state[i].Select(v => In(b, v, s))];
        }
        var scalars = Track(b.Allocate(TensorShape.Vector(StepScalars.Words), DataType.Int32));
        var table = b.CreateParameterTable(rows);
        return (scalars, table, rows);
    }

    private static void QueueStep(IBackend b, Tensor scalars, float lr, int step)
    {
        Span<int> words = stackalloc int[StepScalars.Words];
        StepScalars.Write(words, lr, step);
        b.QueueUpload(scalars, words);
    }

    [Theory, MemberData(nameof(SgdCases))]
    public void MultiTensorSgdUpdatesEveryParameterInOneCall(float momentum, float weightDecay, bool nesterov)
    {
        float[] lrs = [0.05f, 0.02f, 0.1f, 0.01f];
        var p0 = TableSizes.Select(n => Rng.Uniform(n)).ToArray();
        var v0 = TableSizes.Select(n => Rng.Uniform(n)).ToArray();
        var grads = lrs.Select(_ => TableSizes.Select(n => Rng.Uniform(n)).ToArray()).ToArray();
        var p = p0.Select(D).ToArray();
        var v = v0.Select(D).ToArray();
        for (int step = 0; step < lrs.Length; step++)
            for (int i = 0; i < TableSizes.Length; i++) OptimizerReference.Sgd(p[i], D(grads[step][i]), v[i], lrs[step], momentum, weightDecay, nesterov);
        var expected = new Dictionary<string, double[]>();
        for (int i = 0; i < TableSizes.Length; i++) { expected[$"param {i}"] = p[i]; expected[$"velocity {i}"] = v[i]; }
        Verify($"multi-tensor SgdStep x{lrs.Length} momentum={momentum} wd={weightDecay} nesterov={nesterov}", (b, r) =>
        {
            var (scalars, table, rows) = MakeTable(b, p0, v0.Select(x => new[] { x }).ToArray());
            using (table)
                for (int step = 0; step < lrs.Length; step++)
                {
                    for (int i = 0; i < rows.Length; i++) b.Upload(rows[i][1], grads[step][i]);
                    QueueStep(b, scalars, lrs[step], step + 1);
                    b.SgdStep(table, scalars, momentum, weightDecay, nesterov, null, skipNonFinite: false);
                }
            for (int i = 0; i < rows.Length; i++) r.Add($"param {i}", rows[i][0], OpKind.Pointwise).Add($"velocity {i}", rows[i][2], OpKind.Pointwise);
        }, expected);
    }

    [Theory, MemberData(nameof(AdamCases))]
    public void MultiTensorAdamUpdatesEveryParameterInOneCall(float weightDecay, bool decoupled)
    {
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        var p0 = TableSizes.Select(n => Rng.Uniform(n)).ToArray();
        var grads = Enumerable.Range(0, Steps).Select(_ => TableSizes.Select(n => Rng.Uniform(n)).ToArray()).ToArray();
        var p = p0.Select(D).ToArray();
        var m = TableSizes.Select(n => new double[n]).ToArray();
        var v = TableSizes.Select(n => new double[n]).ToArray();
        for (int t = 1; t <= Steps; t++)
            for (int i = 0; i < TableSizes.Length; i++) OptimizerReference.Adam(p[i], D(grads[t - 1][i]), m[i], v[i], lr, b1, b2, eps, weightDecay, decoupled, t);
        var expected = new Dictionary<string, double[]>();
        for (int i = 0; i < TableSizes.Length; i++) { expected[$"param {i}"] = p[i]; expected[$"m {i}"] = m[i]; expected[$"v {i}"] = v[i]; }
        Verify($"multi-tensor AdamStep x{Steps} wd={weightDecay} decoupled={decoupled}", (b, r) =>
        {
            var (scalars, table, rows) = MakeTable(b, p0, TableSizes.Select(n => new[] { new float[n], new float[n] }).ToArray());
            using (table)
                for (int t = 1; t <= Steps; t++)
                {
                    for (int i = 0; i < rows.Length; i++) b.Upload(rows[i][1], grads[t - 1][i]);
                    QueueStep(b, scalars, lr, t);
                    b.AdamStep(table, scalars, b1, b2, eps, weightDecay, decoupled, null, skipNonFinite: false);
                }
            for (int i = 0; i < rows.Length; i++)
                r.Add($"param {i}", rows[i][0], OpKind.Pointwise).Add($"m {i}", rows[i][2], OpKind.Pointwise).Add($"v {i}", rows[i][3], OpKind.Pointwise);
        }, expected);
    }

    [Fact]
    public void TheGuardStopsSkipsAndShiftsAdamsStep()
    {
        const float lr = 1e-2f;
        int[] sizes = [70, 5000];
        var p0 = sizes.Select(n => Rng.Uniform(n)).ToArray();
        var g = sizes.Select(n => Rng.Uniform(n)).ToArray();
        var (scalars, table, rows) = MakeTable(B, p0, sizes.Select(n => new[] { new float[n], new float[n] }).ToArray());
        using var _ = table;
        for (int i = 0; i < rows.Length; i++) B.Upload(rows[i][1], g[i]);
        var guard = InInt(B, [0, 0, 1], TensorShape.Vector(3)); // stop
        QueueStep(B, scalars, lr, 1);
        B.AdamStep(table, scalars, 0.9f, 0.999f, 1e-8f, 0f, false, guard, skipNonFinite: false);
        for (int i = 0; i < rows.Length; i++) TensorAssert.Equal(rows[i][0].ToArray(), p0[i], rows[i][0].Shape, Rng.Label("stopped: no update"));
        guard.Upload([0, 1, 0]); // this step non-finite
        B.AdamStep(table, scalars, 0.9f, 0.999f, 1e-8f, 0f, false, guard, skipNonFinite: true);
        for (int i = 0; i < rows.Length; i++) TensorAssert.Equal(rows[i][0].ToArray(), p0[i], rows[i][0].Shape, Rng.Label("skipped: no update"));

        // Step scalar 5 with 4 steps skipped before: Adam's t is 1, the first real step.
        guard.Upload([4, 0, 0]);
        QueueStep(B, scalars, lr, 5);
        B.AdamStep(table, scalars, 0.9f, 0.999f, 1e-8f, 0f, false, guard, skipNonFinite: true);
        for (int i = 0; i < rows.Length; i++)
        {
            double[] p = D(p0[i]), m = new double[sizes[i]], v = new double[sizes[i]];
            OptimizerReference.Adam(p, D(g[i]), m, v, lr, 0.9, 0.999, 1e-8, 0, false, 1);
            TensorAssert.Close(rows[i][0].ToArray().Select(x => (double)x).ToArray(), p, Under.VsFloat64(OpKind.Pointwise), rows[i][0].Shape,
                Rng.Label("t = step - skipped"));
        }
    }

    [Fact]
    public void MultiTensorUpdatesMatchThePerTensorOps()
    {
        var p0 = TableSizes.Select(n => Rng.Uniform(n)).ToArray();
        var grad = TableSizes.Select(n => Rng.Uniform(n)).ToArray();
        var (scalars, table, rows) = MakeTable(B, p0, TableSizes.Select(n => new[] { new float[n], new float[n] }).ToArray());
        using var _ = table;
        var single = p0.Select(x => In(B, x, TensorShape.Vector(x.Length))).ToArray();
        var sm = TableSizes.Select(n => In(B, new float[n], TensorShape.Vector(n))).ToArray();
        var sv = TableSizes.Select(n => In(B, new float[n], TensorShape.Vector(n))).ToArray();
        for (int t = 1; t <= 3; t++)
        {
            for (int i = 0; i < rows.Length; i++) B.Upload(rows[i][1], grad[i]);
            QueueStep(B, scalars, 3e-3f, t);
            B.AdamStep(table, scalars, 0.9f, 0.99f, 1e-6f, 0.05f, true, null, false);
            for (int i = 0; i < rows.Length; i++) B.AdamStep(single[i], rows[i][1], sm[i], sv[i], 3e-3f, 0.9f, 0.99f, 1e-6f, 0.05f, true, t);
        }
        // The CPU backend runs the very same per-tensor kernel; CUDA's multi-tensor kernel uses PyTorch's arithmetic form.
        var tolerance = Under.ReferenceBackend is null ? Tolerance.Exact : Tolerance.CudaVsCpuFp32;
        for (int i = 0; i < rows.Length; i++)
            TensorAssert.Close(rows[i][0].ToArray().Select(x => (double)x).ToArray(), single[i].ToArray().Select(x => (double)x).ToArray(),
                tolerance, rows[i][0].Shape, Rng.Label($"multi vs per-tensor AdamW, parameter {i} [{Under.Name}]"));
    }

    [Fact]
    public void ParameterTablesRejectMismatchedRows()
    {
        var a = In(B, Rng.Uniform(8), TensorShape.Vector(8));
        var b7 = In(B, Rng.Uniform(7), TensorShape.Vector(7));
        var e = Assert.Throws<ShapeMismatchException>(() => B.CreateParameterTable([[a, a, b7]]));
        Assert.Contains("row 0", e.Message);
        Assert.Throws<ConvNetArgumentException>(() => B.CreateParameterTable([[a, a]]));
        using var sgdTable = B.CreateParameterTable([[a, a, a]]);
        var scalars = Track(B.Allocate(TensorShape.Vector(StepScalars.Words), DataType.Int32));
        var wrong = Assert.Throws<ShapeMismatchException>(() => B.AdamStep(sgdTable, scalars, 0.9f, 0.999f, 1e-8f, 0f, false, null, false));
        Assert.Contains("4 tensors per row", wrong.Message);
    }
}
