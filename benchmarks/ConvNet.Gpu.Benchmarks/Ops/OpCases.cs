namespace ConvNet.Gpu.Benchmarks.Ops;

/// <summary>Tensors for one SGEMM benchmark case, C (m x n) = A (m x k) B (k x n), filled with values in [-1, 1].</summary>
public sealed class GemmCase : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor _a, _b, _c;
    private readonly int _m, _n, _k;
    private readonly bool _transA, _transB;

    /// <summary>Allocates and fills the operands on <paramref name="backend"/> (A stored k x m when transposed, B n x k).</summary>
    public GemmCase(IBackend backend, int m, int n, int k, bool transA = false, bool transB = false)
    {
        _backend = backend;
        (_m, _n, _k, _transA, _transB) = (m, n, k, transA, transB);
        _a = Filled(backend, transA ? TensorShape.Matrix(k, m) : TensorShape.Matrix(m, k), 1);
        _b = Filled(backend, transB ? TensorShape.Matrix(n, k) : TensorShape.Matrix(k, n), 2);
        _c = backend.Allocate(TensorShape.Matrix(m, n));
    }

    /// <summary>2mnk.</summary>
    public double Flops => 2.0 * _m * _n * _k;

    /// <summary>One C = op(A) op(B).</summary>
    public void Run()
    {
        _backend.Gemm(_transA, _transB, _m, _n, _k, 1f, _a, _b, 0f, _c);
        _backend.Synchronize();
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    internal static Tensor Filled(IBackend backend, TensorShape shape, int seed)
    {
        var t = backend.Allocate(shape);
        var rng = new Random(seed);
        var data = new float[shape.ElementCount];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        t.Upload(data);
        return t;
    }
}

/// <summary>Tensors for one convolution shape: input, weight, bias, output and their gradients.</summary>
public sealed class ConvCase : IDisposable
{
    private readonly IBackend _backend;
    private readonly Conv2dGeometry _g;
    private readonly Tensor _x, _w, _bias, _y, _dy, _dx, _dw;
    private Tensor? _cols;

    /// <summary>Allocates and fills the tensors for <paramref name="shape"/> on <paramref name="backend"/>.</summary>
    public ConvCase(IBackend backend, ConvShape shape)
    {
        _backend = backend;
        _g = shape.Geometry;
        _x = GemmCase.Filled(backend, _g.InputShape, 1);
        _w = GemmCase.Filled(backend, _g.WeightShape, 2);
        _bias = GemmCase.Filled(backend, _g.BiasShape, 3);
        _dy = GemmCase.Filled(backend, _g.OutputShape, 4);
        _y = backend.Allocate(_g.OutputShape);
        _dx = backend.Allocate(_g.InputShape);
        _dw = backend.Allocate(_g.WeightShape);
    }

    /// <summary>y = conv(x, w) + b.</summary>
    public void Forward()
    {
        _backend.Conv2dForward(_x, _w, _bias, _y, _g);
        _backend.Synchronize();
    }

    /// <summary>dx from dy and w.</summary>
    public void BackwardData()
    {
        _backend.Conv2dBackwardData(_dy, _w, _dx, _g);
        _backend.Synchronize();
    }

    /// <summary>dw from x and dy (overwriting).</summary>
    public void BackwardWeights()
    {
        _backend.Conv2dBackwardWeights(_x, _dy, _dw, _g, accumulate: false);
        _backend.Synchronize();
    }

    /// <summary>im2col of the whole batch (the columns tensor is allocated on first use).</summary>
    public void Im2Col()
    {
        _cols ??= _backend.Allocate(_g.ColumnsShape);
        _backend.Im2Col(_x, _cols, _g);
        _backend.Synchronize();
    }

    /// <summary>col2im of the whole batch into dx.</summary>
    public void Col2Im()
    {
        _cols ??= _backend.Allocate(_g.ColumnsShape);
        _backend.Col2Im(_cols, _dx, _g);
        _backend.Synchronize();
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in new[] { _x, _w, _bias, _y, _dy, _dx, _dw, _cols }) t?.Dispose();
    }
}
