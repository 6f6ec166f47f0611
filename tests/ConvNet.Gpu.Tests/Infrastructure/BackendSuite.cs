using Xunit;

namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// Base of every backend-parameterized op suite. A concrete class per backend passes a <see cref="BackendUnderTest"/>
/// to the constructor (see <see cref="TestBackends"/>). Tests describe one op run as a delegate that builds its inputs
/// on a given backend from host arrays, runs the op into NaN-poisoned outputs and downloads them (<see cref="OpResult"/>);
/// <see cref="Verify"/> runs it on the backend under test, compares with the float64 reference and, for CUDA, also
/// runs it on the reference backend and compares the two.
/// </summary>
public abstract class BackendSuite : IDisposable
{
    private readonly List<Tensor> _tensors = [];

    /// <summary>Takes the backend under test (disposed with the suite when it owns its backends).</summary>
    protected BackendSuite(BackendUnderTest backendUnderTest)
    {
        ArgumentNullException.ThrowIfNull(backendUnderTest);
        Under = backendUnderTest;
    }

    /// <summary>The backend under test with its tolerances.</summary>
    protected BackendUnderTest Under { get; }

    /// <summary>The backend under test.</summary>
    protected IBackend B => Under.Backend;

    /// <summary>Fresh random data for this test (the seed appears in failure messages).</summary>
    protected TestRng Rng { get; } = new();

    /// <summary>A float32 tensor on <paramref name="backend"/> holding <paramref name="data"/>; freed with the suite.</summary>
    protected Tensor In(IBackend backend, ReadOnlySpan<float> data, TensorShape shape)
    {
        var t = Track(backend.Allocate(shape));
        t.Upload(data);
        return t;
    }

    /// <summary>An int32 tensor on <paramref name="backend"/> holding <paramref name="data"/>.</summary>
    protected Tensor InInt(IBackend backend, ReadOnlySpan<int> data, TensorShape shape)
    {
        var t = Track(backend.Allocate(shape, DataType.Int32));
        t.Upload(data);
        return t;
    }

    /// <summary>An output tensor poisoned with NaN (float32) or int.MinValue (int32), so unwritten elements are caught.</summary>
    protected Tensor Out(IBackend backend, TensorShape shape, DataType type = DataType.Float32)
    {
        var t = Track(backend.Allocate(shape, type));
        if (type == DataType.Int32)
        {
            var p = new int[shape.ElementCount];
            Array.Fill(p, int.MinValue);
            t.Upload(p);
        }
        else
        {
            var p = new float[shape.ElementCount];
            Array.Fill(p, float.NaN);
            t.Upload(p);
        }
        return t;
    }

    /// <summary>Registers a tensor to be freed when the suite is disposed.</summary>
    protected Tensor Track(Tensor t)
    {
        _tensors.Add(t);
        return t;
    }

    /// <summary>Runs <paramref name="run"/> on <paramref name="backend"/> and returns its outputs.</summary>
    protected static OpResult RunOn(IBackend backend, Action<IBackend, OpResult> run)
    {
        var result = new OpResult();
        run(backend, result);
        return result;
    }

    /// <summary>
    /// Runs the op on the backend under test and checks every output named in <paramref name="expected"/> against the
    /// float64 reference; with a reference backend, also runs it there and compares every output (bitwise for exact ones).
    /// </summary>
    protected OpResult Verify(string what, Action<IBackend, OpResult> run, IReadOnlyDictionary<string, double[]> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var actual = RunOn(B, run);
        foreach (var o in actual.Outputs)
        {
            if (!expected.TryGetValue(o.Name, out var e))
                throw new InvalidOperationException($"{what}: no float64 expectation for output '{o.Name}'.");
            TensorAssert.Close(o.AsDoubles(), e, Under.VsFloat64(o.Kind), o.Shape, $"{Rng.Label(what)} [{Under.Name} vs float64 reference] {o.Name}");
        }
        if (Under.ReferenceBackend is { } reference)
        {
            var r = RunOn(reference, run);
            foreach (var o in actual.Outputs)
            {
                var ro = r[o.Name];
                string label = $"{Rng.Label(what)} [{Under.Name} vs {reference.Name}] {o.Name}";
                if (o.Kind == OpKind.Exact && o.Floats is not null) TensorAssert.Equal(o.Floats, ro.Floats, o.Shape, label);
                else if (o.Kind == OpKind.Exact) TensorAssert.Equal(o.Ints, ro.Ints, o.Shape, label);
                else TensorAssert.Close(o.AsDoubles(), ro.AsDoubles(), Under.VsReferenceBackend(o.Kind), o.Shape, label);
            }
        }
        return actual;
    }

    /// <summary>Runs the op twice on the backend under test, with the same inputs, and demands bit-identical outputs.</summary>
    protected void AssertDeterministic(string what, Action<IBackend, OpResult> run)
    {
        var first = RunOn(B, run);
        var second = RunOn(B, run);
        foreach (var o in first.Outputs)
        {
            var s = second[o.Name];
            string label = $"{Rng.Label(what)} [{Under.Name}, run 1 vs run 2] {o.Name}";
            if (o.Floats is not null) TensorAssert.Equal(s.Floats, o.Floats, o.Shape, label);
            else TensorAssert.Equal(s.Ints, o.Ints, o.Shape, label);
        }
    }

    /// <summary>Expectations by output name: <c>Expect(("y", yRef), ("argmax", argRef))</c>.</summary>
    protected static Dictionary<string, double[]> Expect(params (string Name, double[] Values)[] outputs) =>
        outputs.ToDictionary(o => o.Name, o => o.Values);

    /// <summary>Widens int32 host data to float64 expectations.</summary>
    protected static double[] D(int[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>Widens float32 host data to float64 for the reference.</summary>
    protected static double[] D(float[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>Frees every tensor the suite created, then the backends when owned.</summary>
    public void Dispose()
    {
        for (int i = _tensors.Count - 1; i >= 0; i--) _tensors[i].Dispose();
        _tensors.Clear();
        Under.Dispose();
        GC.SuppressFinalize(this);
    }
}
