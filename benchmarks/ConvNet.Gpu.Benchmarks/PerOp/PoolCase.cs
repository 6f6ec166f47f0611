using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks.PerOp;

/// <summary>Tensors for one pooling geometry: input, output, argmax, output gradient and input gradient.</summary>
public sealed class PoolCase : IDisposable
{
    private readonly IBackend _backend;
    private readonly Pool2dGeometry _g;
    private readonly Tensor _x, _y, _argmax, _dy, _dx;

    /// <summary>Allocates and fills the tensors for <paramref name="geometry"/> on <paramref name="backend"/>.</summary>
    public PoolCase(IBackend backend, Pool2dGeometry geometry)
    {
        _backend = backend;
        _g = geometry;
        _x = GemmCase.Filled(backend, geometry.InputShape, 1);
        _dy = GemmCase.Filled(backend, geometry.OutputShape, 2);
        _y = backend.Allocate(geometry.OutputShape);
        _argmax = backend.Allocate(geometry.OutputShape, DataType.Int32);
        _dx = backend.Allocate(geometry.InputShape);
        backend.MaxPool2dForward(_x, _y, _argmax, _g); // a valid argmax for MaxBackward
        backend.Synchronize();
    }

    /// <summary>Max pooling forward (values and argmax).</summary>
    public void MaxForward()
    {
        _backend.MaxPool2dForward(_x, _y, _argmax, _g);
        _backend.Synchronize();
    }

    /// <summary>Max pooling backward: dy routed to the argmax positions.</summary>
    public void MaxBackward()
    {
        _backend.MaxPool2dBackward(_dy, _argmax, _dx, _g);
        _backend.Synchronize();
    }

    /// <summary>Average pooling forward.</summary>
    public void AvgForward()
    {
        _backend.AvgPool2dForward(_x, _y, _g);
        _backend.Synchronize();
    }

    /// <summary>Average pooling backward.</summary>
    public void AvgBackward()
    {
        _backend.AvgPool2dBackward(_dy, _dx, _g);
        _backend.Synchronize();
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in new[] { _x, _y, _argmax, _dy, _dx }) t.Dispose();
    }
}
