using System.Text.Json.Nodes;
using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Transposed 2-D convolution (the adjoint of <see cref="Conv2D"/>, used to upsample): input (N, Cin, H, W),
/// weight (Cin, Cout/groups, KH, KW) as in PyTorch, optional bias (Cout), output (N, Cout, OH, OW) with
/// OH = (H - 1)*stride - padTop - padBottom + dilation*(KH - 1) + outputPadding + 1.
/// It reuses the convolution ops with the roles swapped: forward is <see cref="IBackend.Conv2dBackwardData"/>,
/// the input gradient is <see cref="IBackend.Conv2dForward(Tensor, Tensor, Tensor?, Tensor, Conv2dGeometry)"/>, and the weight gradient is
/// <see cref="IBackend.Conv2dBackwardWeights"/> with the output gradient as "input" and the input as "gradOutput".
/// </summary>
public sealed class ConvTranspose2D : Layer
{
    private Parameter? _weight, _bias;
    private Tensor? _input;
    private Conv2dGeometry? _geometry;

    /// <summary>Creates a transposed convolution.</summary>
    /// <param name="outChannels">Cout, the number of output maps.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Upsampling stride.</param>
    /// <param name="padding">Rows/columns removed from each side of the full output.</param>
    /// <param name="outputPadding">Extra rows/columns added at the bottom/right; must be smaller than the stride.</param>
    /// <param name="dilation">Kernel dilation.</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="useBias">Whether to add a learned bias per output map.</param>
    /// <param name="weightInitializer">Weight initializer (default <see cref="Initializer.FanInUniform"/>, PyTorch's; the bias starts at zero).</param>
    /// <param name="name">Layer name.</param>
    public ConvTranspose2D(int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0,
        int dilation = 1, int groups = 1, bool useBias = true, Initializer? weightInitializer = null, string? name = null)
        : this(outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (outputPadding, outputPadding),
            (dilation, dilation), groups, useBias, weightInitializer, name)
    {
    }

    /// <summary>Creates a transposed convolution with per-axis (height, width) settings.</summary>
    public ConvTranspose2D(int outChannels, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) outputPadding, (int H, int W) dilation, int groups = 1, bool useBias = true,
        Initializer? weightInitializer = null, string? name = null) : base(name)
    {
        if (outChannels <= 0)
            throw new InvalidGeometryException($"ConvTranspose2D needs at least one output channel, got outChannels={outChannels}.");
        // Validates kernel, stride, dilation, padding and groups with the convolution's own messages.
        Spec = new Conv2dSpec(kernel.H, kernel.W, stride.H, stride.W, Padding2d.Symmetric(padding.H, padding.W),
            dilation.H, dilation.W, groups);
        if (outputPadding.H < 0 || outputPadding.W < 0 || outputPadding.H >= stride.H || outputPadding.W >= stride.W)
            throw new InvalidGeometryException(
                $"ConvTranspose2D: output padding must be non-negative and smaller than the stride, got outputPadding=({outputPadding.H}, {outputPadding.W}) with stride=({stride.H}, {stride.W}).");
        if (outChannels % groups != 0)
            throw new InvalidGeometryException($"ConvTranspose2D: groups={groups} must divide outChannels={outChannels}.");
        OutChannels = outChannels;
        OutputPadding = outputPadding;
        UseBias = useBias;
        WeightInitializer = weightInitializer ?? Initializer.FanInUniform;
    }

    /// <inheritdoc/>
    public override string TypeName => "ConvTranspose2D";

    /// <summary>Cout.</summary>
    public int OutChannels { get; }

    /// <summary>The equivalent forward convolution (from the output back to the input).</summary>
    public Conv2dSpec Spec { get; }

    /// <summary>Extra output rows and columns at the bottom/right.</summary>
    public (int H, int W) OutputPadding { get; }

    /// <summary>Whether the layer has a bias.</summary>
    public bool UseBias { get; }

    /// <summary>Weight initializer.</summary>
    public Initializer WeightInitializer { get; }

    /// <summary>The weight (Cin, Cout/groups, KH, KW).</summary>
    public Parameter Weight => _weight ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias (Cout), or null.</summary>
    public Parameter? Bias => _bias;

    /// <inheritdoc/>
    protected override TensorShape InferOutputShape(TensorShape inputShape)
    {
        Shapes.RequireImage($"ConvTranspose2D '{Name}'", inputShape);
        int cin = inputShape[0], h = inputShape[1], w = inputShape[2];
        if (cin % Spec.Groups != 0)
            throw new InvalidGeometryException($"ConvTranspose2D '{Name}': groups={Spec.Groups} must divide the input channels C={cin}.");
        int oh = (h - 1) * Spec.StrideH - Spec.Padding.Top - Spec.Padding.Bottom + Spec.EffectiveKernelH + OutputPadding.H;
        int ow = (w - 1) * Spec.StrideW - Spec.Padding.Left - Spec.Padding.Right + Spec.EffectiveKernelW + OutputPadding.W;
        if (oh < 1 || ow < 1)
            throw new InvalidGeometryException(
                $"ConvTranspose2D '{Name}': input {inputShape} with kernel ({Spec.KernelH}x{Spec.KernelW}), stride ({Spec.StrideH}, {Spec.StrideW}) and padding {Spec.Padding} gives output size ({oh} x {ow}), which is too small.");
        var g = Resolve(cin, oh, ow, 1);
        if (g.OH != h || g.OW != w)
            throw new InvalidGeometryException($"ConvTranspose2D '{Name}': internal geometry mismatch ({g} for input {inputShape}).");
        return Shapes.Image(OutChannels, oh, ow);
    }

    // The convolution from the transposed layer's output (N, Cout, OH, OW) to its input (N, Cin, H, W).
    private Conv2dGeometry Resolve(int cin, int oh, int ow, int batch) =>
        Spec.Resolve(TensorShape.Nchw(batch, OutChannels, oh, ow), cin);

    private Conv2dGeometry Geometry(int batch)
    {
        if (_geometry is null || _geometry.N != batch)
            _geometry = Resolve(InputShape[0], OutputShape[1], OutputShape[2], batch);
        return _geometry;
    }

    /// <inheritdoc/>
    protected override void OnBuild(ParameterFactory factory)
    {
        int cin = InputShape[0];
        int plane = Spec.KernelH * Spec.KernelW;
        var shape = new TensorShape([cin, OutChannels / Spec.Groups, Spec.KernelH, Spec.KernelW], ["Cin", "Cout/g", "KH", "KW"]);
        // As in PyTorch, fan-in is computed from dimension 1 of the stored weight.
        int fanIn = OutChannels / Spec.Groups * plane, fanOut = cin * plane;
        _weight = factory.Create("weight", shape, WeightInitializer, fanIn, fanOut);
        if (UseBias) _bias = factory.Create("bias", TensorShape.Vector(OutChannels), Initializer.Zeros, fanIn, fanOut);
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, bool training)
    {
        int n = input.Shape[0];
        var g = Geometry(n);
        var y = Buffer("y", n);
        Backend.Conv2dBackwardData(input, Weight.Value, y, g);
        if (_bias is not null) Backend.BiasAdd(y, _bias.Value);
        _input = input;
        return y;
    }

    /// <inheritdoc/>
    protected override Tensor? BackwardCore(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException($"Layer '{Name}': Backward called before Forward.");
        var g = Geometry(gradOutput.Shape[0]);
        // dW[cin, cout, i, j] = sum dY[n, cout, ...] * X[n, cin, ...]: the convolution's weight gradient with
        // the transposed layer's output gradient as its input and the transposed layer's input as its output gradient.
        if (Trainable)
        {
            Backend.Conv2dBackwardWeights(gradOutput, x, Weight.Gradient, g, accumulate: false);
            if (_bias is not null) Backend.BiasGradient(gradOutput, _bias.Gradient, accumulate: false);
        }
        if (!RequiresInputGradient) return null;
        var dx = InputGradientBuffer(x.Shape);
        Backend.Conv2dForward(gradOutput, Weight.Value, null, dx, g);
        return dx;
    }

    /// <inheritdoc/>
    protected override void WriteConfig(JsonObject config)
    {
        config["out_channels"] = OutChannels;
        config["kernel"] = new[] { Spec.KernelH, Spec.KernelW }.ToJsonArray();
        config["stride"] = new[] { Spec.StrideH, Spec.StrideW }.ToJsonArray();
        config["padding"] = new[] { Spec.Padding.Top, Spec.Padding.Left }.ToJsonArray();
        config["output_padding"] = new[] { OutputPadding.H, OutputPadding.W }.ToJsonArray();
        config["dilation"] = new[] { Spec.DilationH, Spec.DilationW }.ToJsonArray();
        config["groups"] = Spec.Groups;
        config["use_bias"] = UseBias;
        config["weight_initializer"] = WeightInitializer.Name;
    }

    internal static ConvTranspose2D FromConfig(JsonObject c)
    {
        var k = c.GetArray("kernel").ToIntArray();
        var s = c.GetArray("stride").ToIntArray();
        var p = c.GetArray("padding").ToIntArray();
        var op = c.GetArray("output_padding").ToIntArray();
        var d = c.GetArray("dilation").ToIntArray();
        return new ConvTranspose2D(c.GetInt("out_channels"), (k[0], k[1]), (s[0], s[1]), (p[0], p[1]), (op[0], op[1]),
            (d[0], d[1]), c.GetInt("groups", 1), c.GetBool("use_bias", true),
            Initializer.FromName(c.GetString("weight_initializer")), c.GetOptionalString("name"));
    }
}
