namespace ConvNet.Gpu;

// The Conv op family of IBackend: Convolution: im2col/col2im, the three passes, bias (CpuBackend.Conv*.cs,
// CudaBackend.Conv*.cs; kernels/im2col.cu, conv_igemm.cu, conv_depthwise.cu). Each public op checks its arguments
// (OpChecks) before any work, then calls its Core method, which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void Im2Col(Tensor input, Tensor columns, Conv2dGeometry geometry)
    {
        using var use = _use.Enter("Im2Col");
        GeometryConsistency.Check("Im2Col", geometry);
        OpChecks.Float(this, "Im2Col", "input", input);
        OpChecks.Float(this, "Im2Col", "columns", columns);
        OpChecks.Dims("Im2Col", "input", input, geometry.InputShape);
        OpChecks.Count("Im2Col", "columns", columns, geometry.ColumnsShape.ElementCount, $"columns {geometry.ColumnsShape}");
        Im2ColCore(input, columns, geometry);
    }

    /// <inheritdoc/>
    public void Col2Im(Tensor columns, Tensor input, Conv2dGeometry geometry)
    {
        using var use = _use.Enter("Col2Im");
        GeometryConsistency.Check("Col2Im", geometry);
        OpChecks.Float(this, "Col2Im", "columns", columns);
        OpChecks.Float(this, "Col2Im", "input", input);
        OpChecks.Dims("Col2Im", "input", input, geometry.InputShape);
        OpChecks.Count("Col2Im", "columns", columns, geometry.ColumnsShape.ElementCount, $"columns {geometry.ColumnsShape}");
        Col2ImCore(columns, input, geometry);
    }

    /// <inheritdoc/>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry geometry)
    {
        using var use = _use.Enter("Conv2dForward");
        CheckConv2dForward("Conv2dForward", input, weight, bias, output, geometry);
        Conv2dForwardCore(input, weight, bias, output, geometry);
    }

    private void CheckConv2dForward(string op, Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry geometry)
    {
        GeometryConsistency.Check(op, geometry);
        CheckConvInput(op, "input", input, geometry);
        CheckConvWeight(op, "weight", weight, geometry);
        if (bias is not null)
        {
            OpChecks.Float(this, op, "bias", bias);
            if (bias.Rank != 1 || bias.Shape[0] != geometry.K)
                throw new ShapeMismatchException($"{op}: given weight of size {weight.Shape}, expected bias to be 1-dimensional with {geometry.K} elements, but got bias of size {bias.Shape} instead.");
        }
        CheckConvOutput(op, "output", output, geometry);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry geometry)
    {
        using var use = _use.Enter("Conv2dBackwardData");
        GeometryConsistency.Check("Conv2dBackwardData", geometry);
        const string op = "Conv2dBackwardData";
        CheckConvOutput(op, "gradOutput", gradOutput, geometry);
        CheckConvWeight(op, "weight", weight, geometry);
        CheckConvInput(op, "gradInput", gradInput, geometry);
        Conv2dBackwardDataCore(gradOutput, weight, gradInput, geometry);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry geometry, bool accumulate)
    {
        using var use = _use.Enter("Conv2dBackwardWeights");
        GeometryConsistency.Check("Conv2dBackwardWeights", geometry);
        const string op = "Conv2dBackwardWeights";
        CheckConvInput(op, "input", input, geometry);
        CheckConvOutput(op, "gradOutput", gradOutput, geometry);
        CheckConvWeight(op, "gradWeight", gradWeight, geometry);
        Conv2dBackwardWeightsCore(input, gradOutput, gradWeight, geometry, accumulate);
    }

    private void CheckConvInput(string op, string name, Tensor t, Conv2dGeometry g)
    {
        OpChecks.Float(this, op, name, t);
        OpChecks.Rank(op, name, t, 4, 4);
        if (t.Shape[1] != g.C)
            throw new ShapeMismatchException($"{op}: given groups={g.Groups}, weight of size {g.WeightShape}, expected {name}{t.Shape} to have {g.C} channels, but got {t.Shape[1]} channels instead.");
        OpChecks.Dims(op, name, t, g.InputShape);
    }

    private void CheckConvWeight(string op, string name, Tensor t, Conv2dGeometry g)
    {
        OpChecks.Float(this, op, name, t);
        OpChecks.Rank(op, name, t, 4, 4);
        if (t.Shape[0] % g.Groups != 0)
            throw new InvalidGeometryException($"{op}: given groups={g.Groups}, expected {name} to be divisible by {g.Groups} at dimension 0, but got {name} of size {t.Shape} instead.");
        OpChecks.Dims(op, name, t, g.WeightShape);
    }

    private void CheckConvOutput(string op, string name, Tensor t, Conv2dGeometry g)
    {
        OpChecks.Float(this, op, name, t);
        OpChecks.Rank(op, name, t, 4, 4);
        OpChecks.Dims(op, name, t, g.OutputShape);
    }

    /// <inheritdoc/>
    public void BiasAdd(Tensor output, Tensor bias)
    {
        using var use = _use.Enter("BiasAdd");
        OpChecks.Float(this, "BiasAdd", "output", output);
        OpChecks.Float(this, "BiasAdd", "bias", bias);
        OpChecks.Rank("BiasAdd", "output", output, 2, 4);
        if (bias.Rank != 1 || bias.Shape[0] != output.Shape[1])
            throw new ShapeMismatchException($"BiasAdd: expected bias to be 1-dimensional with {output.Shape[1]} elements (dimension 1 of output {output.Shape}), but got bias of size {bias.Shape}.");
        BiasAddCore(output, bias);
    }

    /// <inheritdoc/>
    public void BiasGradient(Tensor gradOutput, Tensor gradBias, bool accumulate)
    {
        using var use = _use.Enter("BiasGradient");
        OpChecks.Float(this, "BiasGradient", "gradOutput", gradOutput);
        OpChecks.Float(this, "BiasGradient", "gradBias", gradBias);
        OpChecks.Rank("BiasGradient", "gradOutput", gradOutput, 2, 4);
        if (gradBias.Rank != 1 || gradBias.Shape[0] != gradOutput.Shape[1])
            throw new ShapeMismatchException($"BiasGradient: expected gradBias to be 1-dimensional with {gradOutput.Shape[1]} elements (dimension 1 of gradOutput {gradOutput.Shape}), but got {gradBias.Shape}.");
        BiasGradientCore(gradOutput, gradBias, accumulate);
    }

    /// <summary>im2col without checks.</summary>
    protected abstract void Im2ColCore(Tensor input, Tensor columns, Conv2dGeometry g);
    /// <summary>col2im without checks.</summary>
    protected abstract void Col2ImCore(Tensor columns, Tensor input, Conv2dGeometry g);
    /// <summary>Convolution forward without checks.</summary>
    protected abstract void Conv2dForwardCore(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry g);
    /// <summary>Convolution backward-data without checks.</summary>
    protected abstract void Conv2dBackwardDataCore(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g);
    /// <summary>Convolution backward-weights without checks.</summary>
    protected abstract void Conv2dBackwardWeightsCore(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g, bool accumulate);
    /// <summary>Bias add without checks; output viewed as (dim0, dim1, rest).</summary>
    protected abstract void BiasAddCore(Tensor output, Tensor bias);
    /// <summary>Bias gradient without checks.</summary>
    protected abstract void BiasGradientCore(Tensor gradOutput, Tensor gradBias, bool accumulate);
}
