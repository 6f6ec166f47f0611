namespace ConvNet.Gpu;

/// <summary>
/// Common base of the backends: each public op validates its arguments with <see cref="OpChecks"/>
/// (so every backend rejects bad input identically, before any work) and then calls the protected
/// <c>...Core</c> method that the backend implements. Core methods may assume valid arguments.
/// </summary>
public abstract partial class BackendBase : IBackend
{
    private readonly ConcurrencyGuard _use;
    private bool _disposed;

    private static int _instances;

    /// <summary>Sets up the concurrent-use check shared by every compute op.</summary>
    protected BackendBase()
    {
        _use = new ConcurrencyGuard(() => $"backend '{Name}'");
        InstanceNumber = Interlocked.Increment(ref _instances);
    }

    /// <summary>1 for the first backend this process created, 2 for the second...: tells apart backends of the same name in messages.</summary>
    internal int InstanceNumber { get; }

    /// <summary>
    /// The check every compute op enters first: one thread at a time (see <see cref="ConcurrentUseException"/>).
    /// Memory operations (Allocate, Upload, Download) are not guarded; they are safe on distinct tensors.
    /// </summary>
    internal ConcurrencyGuard UseGuard => _use;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract string Description { get; }

    /// <inheritdoc/>
    public string SelectionReason { get; internal set; } = "requested explicitly";

    /// <inheritdoc/>
    public abstract bool IsCuda { get; }

    /// <summary>Whether <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed => _disposed;

    /// <summary>Throws <see cref="ObjectDisposedException"/> after disposal.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // ------------------------------------------------------------ memory

    /// <inheritdoc/>
    public Tensor Allocate(TensorShape shape, DataType dataType = DataType.Float32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ThrowIfDisposed();
        return new Tensor(this, AllocateStorage(shape.ElementCount), 0, shape, dataType, ownsStorage: true);
    }

    /// <summary>Allocates zero-filled storage for <paramref name="elementCount"/> 4-byte elements.</summary>
    protected abstract DeviceStorage AllocateStorage(long elementCount);

    /// <inheritdoc/>
    public void Upload(Tensor destination, ReadOnlySpan<float> source)
    {
        OpChecks.Float(this, "Upload", "destination", destination);
        if (source.Length != destination.ElementCount)
            throw new ShapeMismatchException($"Upload: source has {source.Length} floats but destination {destination.Shape} has {destination.ElementCount} elements.");
        UploadCore(destination, System.Runtime.InteropServices.MemoryMarshal.AsBytes(source));
    }

    /// <inheritdoc/>
    public void Upload(Tensor destination, ReadOnlySpan<int> source)
    {
        OpChecks.Int(this, "Upload", "destination", destination);
        if (source.Length != destination.ElementCount)
            throw new ShapeMismatchException($"Upload: source has {source.Length} ints but destination {destination.Shape} has {destination.ElementCount} elements.");
        UploadCore(destination, System.Runtime.InteropServices.MemoryMarshal.AsBytes(source));
    }

    /// <inheritdoc/>
    public void Download(Tensor source, Span<float> destination)
    {
        OpChecks.Float(this, "Download", "source", source);
        if (destination.Length != source.ElementCount)
            throw new ShapeMismatchException($"Download: destination has {destination.Length} floats but source {source.Shape} has {source.ElementCount} elements.");
        DownloadCore(source, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
    }

    /// <inheritdoc/>
    public void Download(Tensor source, Span<int> destination)
    {
        OpChecks.Int(this, "Download", "source", source);
        if (destination.Length != source.ElementCount)
            throw new ShapeMismatchException($"Download: destination has {destination.Length} ints but source {source.Shape} has {source.ElementCount} elements.");
        DownloadCore(source, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies exactly tensor.ByteCount bytes from the host into the tensor.</summary>
    protected abstract void UploadCore(Tensor destination, ReadOnlySpan<byte> source);

    /// <summary>Waits for queued work, then copies exactly tensor.ByteCount bytes to the host.</summary>
    protected abstract void DownloadCore(Tensor source, Span<byte> destination);

    /// <inheritdoc/>
    public abstract void Synchronize();

    /// <inheritdoc/>
    public abstract MemoryStats GetMemoryStats();

    /// <inheritdoc/>
    public void Fill(Tensor x, float value)
    {
        using var use = _use.Enter("Fill");
        OpChecks.Float(this, "Fill", "x", x);
        FillCore(x, value);
    }

    /// <inheritdoc/>
    public void Copy(Tensor source, Tensor destination)
    {
        using var use = _use.Enter("Copy");
        OpChecks.Owned(this, "Copy", "source", source);
        OpChecks.Owned(this, "Copy", "destination", destination);
        if (source.DataType != destination.DataType)
            throw new ShapeMismatchException($"Copy: source is {source.DataType} but destination is {destination.DataType}.");
        OpChecks.SameCount("Copy", "source", source, "destination", destination);
        CopyCore(source, destination);
    }

    /// <summary>Fill without checks.</summary>
    protected abstract void FillCore(Tensor x, float value);
    /// <summary>Copy without checks (4-byte elements, any data type).</summary>
    protected abstract void CopyCore(Tensor source, Tensor destination);

    // ------------------------------------------------------------ BLAS

    /// <inheritdoc/>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c)
    {
        using var use = _use.Enter("Gemm");
        CheckGemm("Gemm", m, n, k, alpha, beta, a, 0, b, 0, c, 0, 1);
        GemmCore(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    /// <inheritdoc/>
    public void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount)
    {
        using var use = _use.Enter("GemmStridedBatched");
        OpChecks.Positive("GemmStridedBatched", "batchCount", batchCount);
        if (strideA < 0 || strideB < 0 || strideC < 0)
            throw new ConvNetArgumentException($"GemmStridedBatched: strides must be non-negative, got strideA={strideA}, strideB={strideB}, strideC={strideC}.");
        if (batchCount > 1 && strideC < (long)m * n)
            throw new ConvNetArgumentException($"GemmStridedBatched: strideC={strideC} is smaller than one C matrix ({m} x {n}), so outputs would overlap.");
        CheckGemm("GemmStridedBatched", m, n, k, alpha, beta, a, strideA, b, strideB, c, strideC, batchCount);
        GemmStridedBatchedCore(transA, transB, m, n, k, alpha, a, strideA, b, strideB, beta, c, strideC, batchCount);
    }

    private void CheckGemm(string op, int m, int n, int k, float alpha, float beta,
        Tensor a, long strideA, Tensor b, long strideB, Tensor c, long strideC, int batch)
    {
        OpChecks.Positive(op, "m", m);
        OpChecks.Positive(op, "n", n);
        OpChecks.Positive(op, "k", k);
        OpChecks.Finite(op, "alpha", alpha);
        OpChecks.Finite(op, "beta", beta);
        OpChecks.Float(this, op, "A", a);
        OpChecks.Float(this, op, "B", b);
        OpChecks.Float(this, op, "C", c);
        OpChecks.AtLeast(op, "A", a, strideA * (batch - 1) + (long)m * k, $"A ({m} x {k}) x {batch}");
        OpChecks.AtLeast(op, "B", b, strideB * (batch - 1) + (long)k * n, $"B ({k} x {n}) x {batch}");
        OpChecks.AtLeast(op, "C", c, strideC * (batch - 1) + (long)m * n, $"C ({m} x {n}) x {batch}");
    }

    /// <summary>GEMM without checks.</summary>
    protected abstract void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c);
    /// <summary>Strided-batched GEMM without checks.</summary>
    protected abstract void GemmStridedBatchedCore(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount);

    // ------------------------------------------------------------ convolution

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

    // ------------------------------------------------------------ pooling

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

    // ------------------------------------------------------------ activations

    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, float alpha, Tensor x, Tensor y)
    {
        using var use = _use.Enter("ActivationForward");
        CheckActivation("ActivationForward", kind, alpha);
        OpChecks.Float(this, "ActivationForward", "x", x);
        OpChecks.Float(this, "ActivationForward", "y", y);
        OpChecks.SameCount("ActivationForward", "x", x, "y", y);
        ActivationForwardCore(kind, alpha, x, y);
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX)
    {
        using var use = _use.Enter("ActivationBackward");
        const string op = "ActivationBackward";
        CheckActivation(op, kind, alpha);
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Float(this, op, "gradY", gradY);
        OpChecks.Float(this, op, "gradX", gradX);
        OpChecks.SameCount(op, "x", x, "y", y);
        OpChecks.SameCount(op, "x", x, "gradY", gradY);
        OpChecks.SameCount(op, "x", x, "gradX", gradX);
        ActivationBackwardCore(kind, alpha, x, y, gradY, gradX);
    }

    private static void CheckActivation(string op, ActivationKind kind, float alpha)
    {
        if (!Enum.IsDefined(kind)) throw new ConvNetArgumentException($"{op}: unknown activation kind {(int)kind}.", nameof(kind));
        OpChecks.Finite(op, "alpha", alpha);
    }

    /// <summary>Activation forward without checks.</summary>
    protected abstract void ActivationForwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y);
    /// <summary>Activation backward without checks.</summary>
    protected abstract void ActivationBackwardCore(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX);

    // ------------------------------------------------------------ softmax and losses

    /// <inheritdoc/>
    public void SoftmaxForward(Tensor x, Tensor y)
    {
        using var use = _use.Enter("SoftmaxForward");
        OpChecks.Float(this, "SoftmaxForward", "x", x);
        OpChecks.Float(this, "SoftmaxForward", "y", y);
        OpChecks.Rank("SoftmaxForward", "x", x, 2, 2);
        OpChecks.Dims("SoftmaxForward", "y", y, x.Shape);
        SoftmaxForwardCore(x, y);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor gradY, Tensor gradX)
    {
        using var use = _use.Enter("SoftmaxBackward");
        OpChecks.Float(this, "SoftmaxBackward", "y", y);
        OpChecks.Float(this, "SoftmaxBackward", "gradY", gradY);
        OpChecks.Float(this, "SoftmaxBackward", "gradX", gradX);
        OpChecks.Rank("SoftmaxBackward", "y", y, 2, 2);
        OpChecks.Dims("SoftmaxBackward", "gradY", gradY, y.Shape);
        OpChecks.Dims("SoftmaxBackward", "gradX", gradX, y.Shape);
        SoftmaxBackwardCore(y, gradY, gradX);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses)
    {
        using var use = _use.Enter("SoftmaxCrossEntropyForward");
        CheckClassification("SoftmaxCrossEntropyForward", logits, labels, probabilities, losses);
        SoftmaxCrossEntropyForwardCore(logits, labels, probabilities, losses);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale)
    {
        using var use = _use.Enter("SoftmaxCrossEntropyBackward");
        CheckClassification("SoftmaxCrossEntropyBackward", probabilities, labels, gradLogits, null);
        OpChecks.Finite("SoftmaxCrossEntropyBackward", "scale", scale);
        SoftmaxCrossEntropyBackwardCore(probabilities, labels, gradLogits, scale);
    }

    /// <inheritdoc/>
    public void FocalLossForward(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses)
    {
        using var use = _use.Enter("FocalLossForward");
        CheckClassification("FocalLossForward", logits, labels, probabilities, losses);
        CheckGamma("FocalLossForward", gamma);
        FocalLossForwardCore(logits, labels, gamma, probabilities, losses);
    }

    /// <inheritdoc/>
    public void FocalLossBackward(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale)
    {
        using var use = _use.Enter("FocalLossBackward");
        CheckClassification("FocalLossBackward", probabilities, labels, gradLogits, null);
        CheckGamma("FocalLossBackward", gamma);
        OpChecks.Finite("FocalLossBackward", "scale", scale);
        FocalLossBackwardCore(probabilities, labels, gamma, gradLogits, scale);
    }

    private static void CheckGamma(string op, float gamma)
    {
        if (!(gamma >= 0) || !float.IsFinite(gamma))
            throw new ConvNetArgumentException($"{op}: focal-loss gamma must be finite and >= 0, got {gamma}.", nameof(gamma));
    }

    private void CheckClassification(string op, Tensor scores, Tensor labels, Tensor other, Tensor? losses)
    {
        OpChecks.Float(this, op, "logits/probabilities", scores);
        OpChecks.Rank(op, "logits/probabilities", scores, 2, 2);
        OpChecks.Int(this, op, "labels", labels);
        OpChecks.Count(op, "labels", labels, scores.Shape[0], $"one label per row of {scores.Shape}");
        OpChecks.Float(this, op, "output", other);
        OpChecks.Dims(op, "output", other, scores.Shape);
        if (losses is not null)
        {
            OpChecks.Float(this, op, "losses", losses);
            OpChecks.Count(op, "losses", losses, scores.Shape[0], $"one loss per row of {scores.Shape}");
        }
    }

    /// <summary>Softmax forward without checks.</summary>
    protected abstract void SoftmaxForwardCore(Tensor x, Tensor y);
    /// <summary>Softmax backward without checks.</summary>
    protected abstract void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX);
    /// <summary>Softmax cross-entropy forward without checks.</summary>
    protected abstract void SoftmaxCrossEntropyForwardCore(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses);
    /// <summary>Softmax cross-entropy backward without checks.</summary>
    protected abstract void SoftmaxCrossEntropyBackwardCore(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale);
    /// <summary>Focal loss forward without checks.</summary>
    protected abstract void FocalLossForwardCore(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses);
    /// <summary>Focal loss backward without checks.</summary>
    protected abstract void FocalLossBackwardCore(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale);

    // ------------------------------------------------------------ dropout

    /// <inheritdoc/>
    public void DropoutForward(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset)
    {
        using var use = _use.Enter("DropoutForward");
        CheckDropout("DropoutForward", x, y, mask, p);
        DropoutForwardCore(x, y, mask, p, seed, offset);
    }

    private void CheckDropout(string op, Tensor x, Tensor y, Tensor mask, float p)
    {
        if (!(p >= 0f && p < 1f))
            throw new ConvNetArgumentException($"{op}: dropout probability must be in [0, 1), got p={p}.", nameof(p));
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Float(this, op, "mask", mask);
        OpChecks.SameCount(op, "x", x, "y", y);
        OpChecks.SameCount(op, "x", x, "mask", mask);
    }

    /// <summary>Dropout forward without checks.</summary>
    protected abstract void DropoutForwardCore(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset);

    // ------------------------------------------------------------ element-wise

    /// <inheritdoc/>
    public void Add(Tensor a, Tensor b, Tensor y) { using var use = _use.Enter("Add"); CheckBinary("Add", a, b, y); AddCore(a, b, y); }

    /// <inheritdoc/>
    public void Mul(Tensor a, Tensor b, Tensor y) { using var use = _use.Enter("Mul"); CheckBinary("Mul", a, b, y); MulCore(a, b, y); }

    /// <inheritdoc/>
    public void Scale(Tensor x, float alpha, Tensor y)
    {
        using var use = _use.Enter("Scale");
        OpChecks.Float(this, "Scale", "x", x);
        OpChecks.Float(this, "Scale", "y", y);
        OpChecks.SameCount("Scale", "x", x, "y", y);
        ScaleCore(x, alpha, y);
    }

    /// <inheritdoc/>
    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        using var use = _use.Enter("Axpy");
        OpChecks.Float(this, "Axpy", "x", x);
        OpChecks.Float(this, "Axpy", "y", y);
        OpChecks.SameCount("Axpy", "x", x, "y", y);
        AxpyCore(alpha, x, y);
    }

    /// <inheritdoc/>
    public void ChannelAffine(Tensor x, Tensor scale, Tensor? shift, Tensor y)
    {
        using var use = _use.Enter("ChannelAffine");
        const string op = "ChannelAffine";
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Rank(op, "x", x, 2, 4);
        OpChecks.SameCount(op, "x", x, "y", y);
        OpChecks.Float(this, op, "scale", scale);
        OpChecks.Count(op, "scale", scale, x.Shape[1], $"one value per channel of x {x.Shape}");
        if (shift is not null)
        {
            OpChecks.Float(this, op, "shift", shift);
            OpChecks.Count(op, "shift", shift, x.Shape[1], $"one value per channel of x {x.Shape}");
        }
        ChannelAffineCore(x, scale, shift, y);
    }

    /// <inheritdoc/>
    public void ReduceSum(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate)
    {
        using var use = _use.Enter("ReduceSum");
        const string op = "ReduceSum";
        OpChecks.Positive(op, "outer", outer);
        OpChecks.Positive(op, "reduce", reduce);
        OpChecks.Positive(op, "inner", inner);
        OpChecks.Float(this, op, "x", x);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Count(op, "x", x, (long)outer * reduce * inner, $"a ({outer}, {reduce}, {inner}) view");
        OpChecks.Count(op, "y", y, (long)outer * inner, $"the ({outer}, {inner}) result");
        ReduceSumCore(x, y, outer, reduce, inner, accumulate);
    }

    private void CheckBinary(string op, Tensor a, Tensor b, Tensor y)
    {
        OpChecks.Float(this, op, "a", a);
        OpChecks.Float(this, op, "b", b);
        OpChecks.Float(this, op, "y", y);
        OpChecks.SameCount(op, "a", a, "b", b);
        OpChecks.SameCount(op, "a", a, "y", y);
    }

    /// <summary>Add without checks.</summary>
    protected abstract void AddCore(Tensor a, Tensor b, Tensor y);
    /// <summary>Mul without checks.</summary>
    protected abstract void MulCore(Tensor a, Tensor b, Tensor y);
    /// <summary>Scale without checks.</summary>
    protected abstract void ScaleCore(Tensor x, float alpha, Tensor y);
    /// <summary>Axpy without checks.</summary>
    protected abstract void AxpyCore(float alpha, Tensor x, Tensor y);
    /// <summary>Channel affine without checks; x viewed as (dim0, dim1, rest).</summary>
    protected abstract void ChannelAffineCore(Tensor x, Tensor scale, Tensor? shift, Tensor y);
    /// <summary>Reduce-sum without checks.</summary>
    protected abstract void ReduceSumCore(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate);

    // ------------------------------------------------------------ batch norm

    /// <inheritdoc/>
    public void BatchNorm2dForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean, Tensor saveInvStd,
        Tensor runningMean, Tensor runningVar, float momentum, float epsilon)
    {
        using var use = _use.Enter("BatchNorm2dForwardTraining");
        const string op = "BatchNorm2dForwardTraining";
        int c = CheckBatchNormInput(op, x, epsilon);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Dims(op, "y", y, x.Shape);
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ConvNetArgumentException($"{op}: momentum must be in [0, 1], got {momentum}.", nameof(momentum));
        CheckChannelVectors(op, c, ("gamma", gamma), ("beta", beta), ("saveMean", saveMean), ("saveInvStd", saveInvStd),
            ("runningMean", runningMean), ("runningVar", runningVar));
        BatchNorm2dForwardTrainingCore(x, gamma, beta, y, saveMean, saveInvStd, runningMean, runningVar, momentum, epsilon);
    }

    /// <inheritdoc/>
    public void BatchNorm2dForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float epsilon, Tensor y)
    {
        using var use = _use.Enter("BatchNorm2dForwardInference");
        const string op = "BatchNorm2dForwardInference";
        int c = CheckBatchNormInput(op, x, epsilon);
        OpChecks.Float(this, op, "y", y);
        OpChecks.Dims(op, "y", y, x.Shape);
        CheckChannelVectors(op, c, ("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar));
        BatchNorm2dForwardInferenceCore(x, gamma, beta, runningMean, runningVar, epsilon, y);
    }

    /// <inheritdoc/>
    public void BatchNorm2dBackward(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate)
    {
        using var use = _use.Enter("BatchNorm2dBackward");
        const string op = "BatchNorm2dBackward";
        int c = CheckBatchNormInput(op, x, 1e-5f);
        OpChecks.Float(this, op, "gradY", gradY);
        OpChecks.Float(this, op, "gradX", gradX);
        OpChecks.Dims(op, "gradY", gradY, x.Shape);
        OpChecks.Dims(op, "gradX", gradX, x.Shape);
        CheckChannelVectors(op, c, ("gamma", gamma), ("saveMean", saveMean), ("saveInvStd", saveInvStd),
            ("gradGamma", gradGamma), ("gradBeta", gradBeta));
        BatchNorm2dBackwardCore(x, gradY, gamma, saveMean, saveInvStd, gradX, gradGamma, gradBeta, accumulate);
    }

    private int CheckBatchNormInput(string op, Tensor x, float epsilon)
    {
        OpChecks.Float(this, op, "x", x);
        OpChecks.Rank(op, "x", x, 2, 4);
        if (!(epsilon > 0f) || !float.IsFinite(epsilon))
            throw new ConvNetArgumentException($"{op}: epsilon must be positive and finite, got {epsilon}.", nameof(epsilon));
        return x.Shape[1];
    }

    private void CheckChannelVectors(string op, int channels, params (string Name, Tensor T)[] vectors)
    {
        foreach (var (name, t) in vectors)
        {
            OpChecks.Float(this, op, name, t);
            OpChecks.Count(op, name, t, channels, $"one value per channel (C={channels})");
        }
    }

    /// <summary>Batch-norm training forward without checks; x viewed as (N, C, rest).</summary>
    protected abstract void BatchNorm2dForwardTrainingCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean,
        Tensor saveInvStd, Tensor runningMean, Tensor runningVar, float momentum, float epsilon);
    /// <summary>Batch-norm inference forward without checks.</summary>
    protected abstract void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, float epsilon, Tensor y);
    /// <summary>Batch-norm backward without checks.</summary>
    protected abstract void BatchNorm2dBackwardCore(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate);

    // ------------------------------------------------------------ optimizers

    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov)
    {
        using var use = _use.Enter("SgdStep");
        const string op = "SgdStep";
        CheckOptimizerTensors(op, param, ("grad", grad), ("velocity", velocity));
        OpChecks.Finite(op, "learningRate", learningRate);
        CheckSgdSettings(op, momentum, weightDecay, nesterov);
        SgdStepCore(param, grad, velocity, learningRate, momentum, weightDecay, nesterov);
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, bool decoupledWeightDecay, int step)
    {
        using var use = _use.Enter("AdamStep");
        const string op = "AdamStep";
        CheckOptimizerTensors(op, param, ("grad", grad), ("m", m), ("v", v));
        OpChecks.Finite(op, "learningRate", learningRate);
        CheckAdamSettings(op, beta1, beta2, epsilon, weightDecay);
        OpChecks.Positive(op, "step", step);
        AdamStepCore(param, grad, m, v, learningRate, beta1, beta2, epsilon, weightDecay, decoupledWeightDecay, step);
    }

    private static void CheckSgdSettings(string op, float momentum, float weightDecay, bool nesterov)
    {
        if (!(momentum >= 0f) || !float.IsFinite(momentum))
            throw new ConvNetArgumentException($"{op}: momentum must be finite and >= 0, got {momentum}.", nameof(momentum));
        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
            throw new ConvNetArgumentException($"{op}: weight decay must be finite and >= 0, got {weightDecay}.", nameof(weightDecay));
        if (nesterov && momentum <= 0f)
            throw new ConvNetArgumentException($"{op}: Nesterov momentum requires momentum > 0, got momentum={momentum}.", nameof(nesterov));
    }

    private static void CheckAdamSettings(string op, float beta1, float beta2, float epsilon, float weightDecay)
    {
        if (!(beta1 >= 0f && beta1 < 1f) || !(beta2 >= 0f && beta2 < 1f))
            throw new ConvNetArgumentException($"{op}: betas must be in [0, 1), got beta1={beta1}, beta2={beta2}.");
        if (!(epsilon > 0f) || !float.IsFinite(epsilon))
            throw new ConvNetArgumentException($"{op}: epsilon must be positive and finite, got {epsilon}.", nameof(epsilon));
        if (!(weightDecay >= 0f) || !float.IsFinite(weightDecay))
            throw new ConvNetArgumentException($"{op}: weight decay must be finite and >= 0, got {weightDecay}.", nameof(weightDecay));
    }

    private void CheckOptimizerTensors(string op, Tensor param, params (string Name, Tensor T)[] state)
    {
        OpChecks.Float(this, op, "param", param);
        foreach (var (name, t) in state)
        {
            OpChecks.Float(this, op, name, t);
            OpChecks.SameCount(op, "param", param, name, t);
        }
    }

    /// <summary>SGD step without checks.</summary>
    protected abstract void SgdStepCore(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov);
    /// <summary>Adam step without checks.</summary>
    protected abstract void AdamStepCore(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2,
        float epsilon, float weightDecay, bool decoupledWeightDecay, int step);

    // ------------------------------------------------------------ lifetime

    /// <summary>Releases the backend's resources (workspaces, device context).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        DisposeScratch();
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Override to release backend resources.</summary>
    protected virtual void Dispose(bool disposing) { }
}
