using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// LeNet-5's trainable subsampling (S2, S4): each map's non-overlapping k x k sums are multiplied by a learned
/// coefficient and shifted by a learned bias, y[n, c] = w[c] * (a1 + a2 + a3 + a4) + b[c] for k = 2; two parameters
/// per map. Computed as average pooling times k*k followed by a per-channel affine map.
/// </summary>
public sealed class Subsampling2D : Layer
{
    private Parameter? _weight, _bias;
    private Pool2dGeometry? _geometry;
    private Tensor? _pooled;

    /// <summary>Creates the layer.</summary>
    /// <param name="poolSize">Window (and stride) size, 2 in LeNet-5.</param>
    /// <param name="weightInitializer">Coefficient initializer (default: constant 1/(k*k), an average).</param>
    /// <param name="name">Layer name.</param>
    public Subsampling2D(int poolSize = 2, Initializer? weightInitializer = null, string? name = null) : base(name)
    {
        if (poolSize < 1) throw new InvalidGeometryException($"Subsampling2D pool size must be positive, got {poolSize}.");
        PoolSize = poolSize;
        WeightInitializer = weightInitializer ?? Initializer.Constant(1f / (poolSize * poolSize));
    }

    /// <inheritdoc/>
    public override string TypeName => "Subsampling2D";

    /// <summary>Window and stride.</summary>
    public int PoolSize { get; }

    /// <summary>Coefficient initializer.</summary>
    public Initializer WeightInitializer { get; }

    /// <summary>Per-map coefficient (C).</summary>
    public Parameter Weight => _weight ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>Per-map bias (C).</summary>
    public Parameter Bias => _bias ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    private Pool2dSpec Spec => Pool2dSpec.Square(PoolSize);

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        Shapes.RequireImage($"Subsampling2D '{Name}'", inputShape);
        var g = Spec.Resolve(Shapes.Batch(inputShape, 1));
        return Shapes.Image(g.C, g.OH, g.OW);
    }

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        var c = TensorShape.Vector(InputShape[0]);
        int area = PoolSize * PoolSize;
        _weight = factory.Create("weight", c, WeightInitializer, area, 1);
        _bias = factory.Create("bias", c, Initializer.Zeros, area, 1);
    }

    private Pool2dGeometry Geometry(int batch)
    {
        if (_geometry is null || _geometry.N != batch) _geometry = Spec.Resolve(Shapes.Batch(InputShape, batch));
        return _geometry;
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var g = Geometry(n);
        _pooled = Buffer("pooled", n);
        Backend.AvgPool2dForward(input, _pooled, g);
        // The window sum is area * average, so the effective per-channel scale is area * w.
        var scale = Buffer("scale", Weight.Shape);
        Backend.Scale(Weight.Value, PoolSize * PoolSize, scale);
        var y = Buffer("y", n);
        Backend.ChannelAffine(_pooled, scale, Bias.Value, y);
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var pooled = _pooled ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        int n = gradOutput.Shape[0];
        float area = PoolSize * PoolSize;
        if (Trainable)
        {
            Backend.BiasGradient(gradOutput, Bias.Gradient, accumulate: false);
            // dw[c] = area * sum over n, i of dY * average.
            var product = Buffer("dy_times_pooled", n);
            Backend.Mul(gradOutput, pooled, product);
            Backend.BiasGradient(product, Weight.Gradient, accumulate: false);
            Backend.Scale(Weight.Gradient, area, Weight.Gradient);
        }
        if (!RequiresInputGradient) return null;
        var scale = Buffer("scale", Weight.Shape);
        Backend.Scale(Weight.Value, area, scale);
        var dPooled = Buffer("dpooled", n);
        Backend.ChannelAffine(gradOutput, scale, null, dPooled);
        var dx = InputGradientBuffer(n);
        Backend.AvgPool2dBackward(dPooled, dx, Geometry(n));
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["pool_size"] = PoolSize;
        config["weight_initializer"] = WeightInitializer.Name;
    }

    internal static Subsampling2D FromConfig(JsonObject c) =>
        new(c.GetInt("pool_size"), Initializer.FromName(c.GetString("weight_initializer")), c.GetOptionalString("name"));
}
