namespace ConvNet.Gpu;

// The Pool op family of IBackend: Pooling and nearest upsampling (CpuBackend.Pool.cs, CudaBackend.Pool.cs;
// kernels/pooling.cu, upsample.cu). Each public op checks its arguments (OpChecks) before any work, then calls its Core
// method, which the backends implement.
public abstract partial class BackendBase
{
    /// <inheritdoc/>
    public void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Pool2dGeometry geometry)
    {
        using var use = _use.Enter("MaxPool2dForward");
        GeometryConsistency.Check("MaxPool2dForward", geometry);
        const string op = "MaxPool2dForward";
        OpChecks.Float(this, op, "input", input);
        OpChecks.Float(this, op, "output", output);
        OpChecks.Int(this, op, "argmax", argmax);
        OpChecks.Dims(op, "input", input, geometry.InputShape);
        OpChecks.Dims(op, "output", output, geometry.OutputShape);
        OpChecks.Dims(op, "argmax", argmax, geometry.OutputShape);
        MaxPool2dForwardCore(input, output, argmax, geometry);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry geometry)
    {
        using var use = _use.Enter("MaxPool2dBackward");
        GeometryConsistency.Check("MaxPool2dBackward", geometry);
        const string op = "MaxPool2dBackward";
        OpChecks.Float(this, op, "gradOutput", gradOutput);
        OpChecks.Int(this, op, "argmax", argmax);
        OpChecks.Float(this, op, "gradInput", gradInput);
        OpChecks.Dims(op, "gradOutput", gradOutput, geometry.OutputShape);
        OpChecks.Dims(op, "argmax", argmax, geometry.OutputShape);
        OpChecks.Dims(op, "gradInput", gradInput, geometry.InputShape);
        MaxPool2dBackwardCore(gradOutput, argmax, gradInput, geometry);
    }

    /// <inheritdoc/>
    public void AvgPool2dForward(Tensor input, Tensor output, Pool2dGeometry geometry)
    {
        using var use = _use.Enter("AvgPool2dForward");
        GeometryConsistency.Check("AvgPool2dForward", geometry);
        OpChecks.Float(this, "AvgPool2dForward", "input", input);
        OpChecks.Float(this, "AvgPool2dForward", "output", output);
        OpChecks.Dims("AvgPool2dForward", "input", input, geometry.InputShape);
        OpChecks.Dims("AvgPool2dForward", "output", output, geometry.OutputShape);
        AvgPool2dForwardCore(input, output, geometry);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor gradOutput, Tensor gradInput, Pool2dGeometry geometry)
    {
        using var use = _use.Enter("AvgPool2dBackward");
        GeometryConsistency.Check("AvgPool2dBackward", geometry);
        OpChecks.Float(this, "AvgPool2dBackward", "gradOutput", gradOutput);
        OpChecks.Float(this, "AvgPool2dBackward", "gradInput", gradInput);
        OpChecks.Dims("AvgPool2dBackward", "gradOutput", gradOutput, geometry.OutputShape);
        OpChecks.Dims("AvgPool2dBackward", "gradInput", gradInput, geometry.InputShape);
        AvgPool2dBackwardCore(gradOutput, gradInput, geometry);
    }

    /// <inheritdoc/>
    public void UpsampleNearest2dForward(Tensor input, Tensor output, int scaleH, int scaleW)
    {
        using var use = _use.Enter("UpsampleNearest2dForward");
        CheckUpsample("UpsampleNearest2dForward", input, "input", output, "output", scaleH, scaleW);
        UpsampleNearest2dForwardCore(input, output, scaleH, scaleW);
    }

    /// <inheritdoc/>
    public void UpsampleNearest2dBackward(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW)
    {
        using var use = _use.Enter("UpsampleNearest2dBackward");
        CheckUpsample("UpsampleNearest2dBackward", gradInput, "gradInput", gradOutput, "gradOutput", scaleH, scaleW);
        UpsampleNearest2dBackwardCore(gradOutput, gradInput, scaleH, scaleW);
    }

    private void CheckUpsample(string op, Tensor small, string smallName, Tensor large, string largeName, int sh, int sw)
    {
        OpChecks.Positive(op, "scaleH", sh);
        OpChecks.Positive(op, "scaleW", sw);
        OpChecks.Float(this, op, smallName, small);
        OpChecks.Float(this, op, largeName, large);
        OpChecks.Rank(op, smallName, small, 4, 4);
        var s = small.Shape;
        OpChecks.Dims(op, largeName, large, TensorShape.Nchw(s[0], s[1], s[2] * sh, s[3] * sw));
    }

    /// <summary>Max-pool forward without checks.</summary>
    protected abstract void MaxPool2dForwardCore(Tensor input, Tensor output, Tensor argmax, Pool2dGeometry g);
    /// <summary>Max-pool backward without checks.</summary>
    protected abstract void MaxPool2dBackwardCore(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry g);
    /// <summary>Average-pool forward without checks.</summary>
    protected abstract void AvgPool2dForwardCore(Tensor input, Tensor output, Pool2dGeometry g);
    /// <summary>Average-pool backward without checks.</summary>
    protected abstract void AvgPool2dBackwardCore(Tensor gradOutput, Tensor gradInput, Pool2dGeometry g);
    /// <summary>Upsample forward without checks.</summary>
    protected abstract void UpsampleNearest2dForwardCore(Tensor input, Tensor output, int scaleH, int scaleW);
    /// <summary>Upsample backward without checks.</summary>
    protected abstract void UpsampleNearest2dBackwardCore(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW);
}
