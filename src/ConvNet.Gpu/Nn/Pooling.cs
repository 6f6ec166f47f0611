using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>Shared shape logic of the pooling layers.</summary>
public abstract class PoolingLayer : Layer
{
    private Pool2dGeometry? _geometry;

    /// <summary>Creates a pooling layer from its specification.</summary>
    protected PoolingLayer(Pool2dSpec spec, string? name) : base(name)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
    }

    /// <summary>Window, stride, padding and rounding.</summary>
    public Pool2dSpec Spec { get; }

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        Shapes.RequireImage($"{TypeName} '{Name}'", inputShape);
        var g = Spec.Resolve(Shapes.Batch(inputShape, 1));
        return Shapes.Image(g.C, g.OH, g.OW);
    }

    /// <summary>The geometry for a batch of <paramref name="batch"/> samples (cached).</summary>
    protected Pool2dGeometry Geometry(int batch)
    {
        if (_geometry is null || _geometry.N != batch) _geometry = Spec.Resolve(Shapes.Batch(InputShape, batch));
        return _geometry;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["kernel"] = new[] { Spec.KernelH, Spec.KernelW }.ToJsonArray();
        config["stride"] = new[] { Spec.StrideH, Spec.StrideW }.ToJsonArray();
        config["padding"] = new[] { Spec.PadH, Spec.PadW }.ToJsonArray();
        config["ceil_mode"] = Spec.CeilMode;
        config["count_include_padding"] = Spec.CountIncludePadding;
    }

    internal static Pool2dSpec ReadSpec(JsonObject c)
    {
        var k = c.GetArray("kernel").ToIntArray();
        var s = c.GetArray("stride").ToIntArray();
        var p = c.GetArray("padding").ToIntArray();
        return new Pool2dSpec(k[0], k[1], s[0], s[1], p[0], p[1], c.GetBool("ceil_mode"), c.GetBool("count_include_padding", true));
    }
}

/// <summary>Max pooling (N, C, H, W) to (N, C, OH, OW); backward routes each gradient to the window's argmax.</summary>
public sealed class MaxPool2D : PoolingLayer
{
    private Tensor? _argmax;
    private Tensor? _input;

    /// <summary>Creates max pooling with a square window (stride defaults to the window).</summary>
    public MaxPool2D(int poolSize = 2, int? stride = null, int padding = 0, bool ceilMode = false, string? name = null)
        : this(Pool2dSpec.Square(poolSize, stride, padding, ceilMode), name) { }

    /// <summary>Creates max pooling from a full specification.</summary>
    public MaxPool2D(Pool2dSpec spec, string? name = null) : base(spec, name) { }

    /// <inheritdoc/>
    public override string TypeName => "MaxPool2D";

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var y = Buffer("y", n);
        _argmax = Buffer("argmax", y.Shape, DataType.Int32);
        Backend.MaxPool2dForward(input, y, _argmax, Geometry(n));
        _input = input;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        var dx = InputGradientBuffer(x.Shape);
        Backend.MaxPool2dBackward(gradOutput, _argmax!, dx, Geometry(gradOutput.Shape[0]));
        return dx;
    }

    internal static MaxPool2D FromConfig(JsonObject c) => new(ReadSpec(c), c.GetOptionalString("name"));
}

/// <summary>Average pooling (N, C, H, W) to (N, C, OH, OW); backward spreads each gradient evenly over its window.</summary>
public sealed class AvgPool2D : PoolingLayer
{
    /// <summary>Creates average pooling with a square window (stride defaults to the window).</summary>
    public AvgPool2D(int poolSize = 2, int? stride = null, int padding = 0, bool ceilMode = false, string? name = null)
        : this(Pool2dSpec.Square(poolSize, stride, padding, ceilMode), name) { }

    /// <summary>Creates average pooling from a full specification.</summary>
    public AvgPool2D(Pool2dSpec spec, string? name = null) : base(spec, name) { }

    /// <inheritdoc/>
    public override string TypeName => "AvgPool2D";

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var y = Buffer("y", n);
        Backend.AvgPool2dForward(input, y, Geometry(n));
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        int n = gradOutput.Shape[0];
        var dx = InputGradientBuffer(n);
        Backend.AvgPool2dBackward(gradOutput, dx, Geometry(n));
        return dx;
    }

    internal static AvgPool2D FromConfig(JsonObject c) => new(ReadSpec(c), c.GetOptionalString("name"));
}

/// <summary>
/// Global average pooling: (N, C, H, W) to (N, C), the mean of each map. Implemented as one average-pooling window
/// covering the whole map, so the backward pass spreads dY/(H*W) over it.
/// </summary>
public sealed class GlobalAvgPool2D : Layer
{
    private Pool2dGeometry? _geometry;

    /// <summary>Creates the layer.</summary>
    public GlobalAvgPool2D(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "GlobalAvgPool2D";

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        Shapes.RequireImage($"GlobalAvgPool2D '{Name}'", inputShape);
        return Shapes.Features(inputShape[0]);
    }

    private Pool2dGeometry Geometry(int batch)
    {
        if (_geometry is null || _geometry.N != batch)
            _geometry = new Pool2dSpec(InputShape[1], InputShape[2]).Resolve(Shapes.Batch(InputShape, batch));
        return _geometry;
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var y = Buffer("y", n);
        using var y4 = y.Reshape(TensorShape.Nchw(n, InputShape[0], 1, 1));
        Backend.AvgPool2dForward(input, y4, Geometry(n));
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        int n = gradOutput.Shape[0];
        var dx = InputGradientBuffer(n);
        using var dy4 = gradOutput.Reshape(TensorShape.Nchw(n, InputShape[0], 1, 1));
        Backend.AvgPool2dBackward(dy4, dx, Geometry(n));
        return dx;
    }
}

/// <summary>Nearest-neighbour upsampling by integer factors: (N, C, H, W) to (N, C, H*scaleH, W*scaleW).</summary>
public sealed class Upsample2D : Layer
{
    /// <summary>Creates the layer; <paramref name="scaleW"/> defaults to <paramref name="scaleH"/>.</summary>
    public Upsample2D(int scaleH = 2, int? scaleW = null, string? name = null) : base(name)
    {
        int sw = scaleW ?? scaleH;
        if (scaleH < 1 || sw < 1)
            throw new InvalidGeometryException($"Upsample2D: scale factors must be at least 1, got ({scaleH}, {sw}).");
        ScaleH = scaleH;
        ScaleW = sw;
    }

    /// <summary>Vertical factor.</summary>
    public int ScaleH { get; }

    /// <summary>Horizontal factor.</summary>
    public int ScaleW { get; }

    /// <inheritdoc/>
    public override string TypeName => "Upsample2D";

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        Shapes.RequireImage($"Upsample2D '{Name}'", inputShape);
        return Shapes.Image(inputShape[0], inputShape[1] * ScaleH, inputShape[2] * ScaleW);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        var y = Buffer("y", input.Shape[0]);
        Backend.UpsampleNearest2dForward(input, y, ScaleH, ScaleW);
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        if (!RequiresInputGradient) return null;
        var dx = InputGradientBuffer(gradOutput.Shape[0]);
        Backend.UpsampleNearest2dBackward(gradOutput, dx, ScaleH, ScaleW);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["scale"] = new[] { ScaleH, ScaleW }.ToJsonArray();
    }

    internal static Upsample2D FromConfig(JsonObject c)
    {
        var s = c.GetArray("scale").ToIntArray();
        return new Upsample2D(s[0], s[1], c.GetOptionalString("name"));
    }
}
