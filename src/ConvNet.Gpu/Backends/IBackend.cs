namespace ConvNet.Gpu;

/// <summary>
/// The complete set of device operations that training needs. Every op writes into preallocated
/// output tensors owned by this backend, validates its arguments before any work starts
/// (throwing <see cref="ConvNetArgumentException"/> subclasses that name the shapes), and never
/// round-trips through the host. Ops are asynchronous on GPU backends: call <see cref="Synchronize"/>
/// or <see cref="Download(Tensor, Span{float})"/> to wait.
/// Shapes in the docs: N batch, C input channels, K output channels, H/W spatial sizes.
/// The ops are grouped by op family (the section comments: Gemm, Conv, Epilogue, Pool, Activation, SoftmaxLoss,
/// Elementwise, BatchNorm, Optimizer); each family X has the same name in BackendBase.X.cs, CpuBackend.X.cs,
/// CudaBackend.X.cs, kernels/*.cu, tests/.../Reference/XReference.cs and Ops/XOpsSuite.cs (docs/architecture.md).
/// </summary>
/// <remarks>
/// Thread safety: a backend runs one compute op at a time. Its ops share per-backend scratch memory (convolution
/// workspaces, the CUDA stream and its buffers), so an op called while another thread is inside one throws
/// <see cref="ConcurrentUseException"/> naming both threads, before any work; results are never silently mixed.
/// Ops called from different threads one after another are fine. Allocate, Upload and Download are safe from any
/// thread on distinct tensors. For parallel work, give each thread its own backend.
/// </remarks>
public interface IBackend : IDisposable
{
    /// <summary>Short name for logs and test names, e.g. "CPU", "CUDA (emulated)", "CUDA: NVIDIA H100 80GB HBM3".</summary>
    string Name { get; }

    /// <summary>What the backend runs on and how: threads and SIMD width, or device, driver and cuBLAS versions.</summary>
    string Description { get; }

    /// <summary>Why this backend was chosen (set by <c>Backend.Default()</c>; otherwise "requested explicitly").</summary>
    string SelectionReason { get; }

    /// <summary>Whether this is a CUDA backend (real or emulated).</summary>
    bool IsCuda { get; }

    // ---------------------------------------------------------------- memory

    /// <summary>Allocates a zero-filled owning tensor.</summary>
    Tensor Allocate(TensorShape shape, DataType dataType = DataType.Float32);

    /// <summary>Copies host floats into <paramref name="destination"/> (length must equal its element count).</summary>
    void Upload(Tensor destination, ReadOnlySpan<float> source);

    /// <summary>Copies host int32 values into an int32 tensor.</summary>
    void Upload(Tensor destination, ReadOnlySpan<int> source);

    /// <summary>Waits for queued work, then copies the tensor into host memory.</summary>
    void Download(Tensor source, Span<float> destination);

    /// <summary>Waits for queued work, then copies an int32 tensor into host memory.</summary>
    void Download(Tensor source, Span<int> destination);

    /// <summary>Blocks until every queued op has finished.</summary>
    void Synchronize();

    /// <summary>Current memory accounting.</summary>
    MemoryStats GetMemoryStats();

    /// <summary>Sets <paramref name="x"/> to <paramref name="value"/> (float32 tensors).</summary>
    void Fill(Tensor x, float value);

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/>: same data type and element count.</summary>
    void Copy(Tensor source, Tensor destination);

    /// <summary>
    /// Copies host floats into <paramref name="destination"/> without making the host wait for the device: the values are
    /// copied into staging memory the backend owns before this returns (so the span may be reused at once), and the
    /// transfer is queued in order with the ops queued before and after it. For the small per-step values a CUDA graph
    /// replay reads (learning rate, step number, dropout offsets). Synchronous on the CPU backend. Not allowed during a
    /// CUDA graph capture (queue it before the capture or replay).
    /// </summary>
    void QueueUpload(Tensor destination, ReadOnlySpan<float> source);

    /// <summary>Int32 form of <see cref="QueueUpload(Tensor, ReadOnlySpan{float})"/>.</summary>
    void QueueUpload(Tensor destination, ReadOnlySpan<int> source);

    // ---------------------------------------------------------------- Gemm: BLAS

    /// <summary>
    /// Row-major C = alpha * op(A) * op(B) + beta * C, where op(A) is (m x k) and op(B) is (k x n).
    /// A is stored (m x k), or (k x m) when <paramref name="transA"/>; B is (k x n), or (n x k) when <paramref name="transB"/>.
    /// beta = 0 overwrites C (NaNs in C are not propagated); beta = 1 accumulates.
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /// <summary>
    /// <paramref name="batchCount"/> independent GEMMs as in <see cref="Gemm"/>; matrix i of A starts at element i*strideA
    /// of <paramref name="a"/> (likewise B and C). A stride of 0 reuses one matrix for every batch entry.
    /// </summary>
    void GemmStridedBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, long strideA, Tensor b, long strideB, float beta, Tensor c, long strideC, int batchCount);

    // ---------------------------------------------------------------- Conv: convolution

    /// <summary>im2col: input (N, C, H, W) to columns (N, C*KH*KW, OH*OW); padded taps are 0.</summary>
    void Im2Col(Tensor input, Tensor columns, Conv2dGeometry geometry);

    /// <summary>col2im, the adjoint of im2col: columns (N, C*KH*KW, OH*OW) summed into input (N, C, H, W), overwriting it.</summary>
    void Col2Im(Tensor columns, Tensor input, Conv2dGeometry geometry);

    /// <summary>y = conv(x, w) + b: input (N, C, H, W), weight (K, C/G, KH, KW), optional bias (K), output (N, K, OH, OW), overwritten.</summary>
    void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry geometry);

    /// <summary>
    /// dX = full convolution of dY with the 180-degree-rotated, channel-transposed filters (the transposed convolution):
    /// gradOutput (N, K, OH, OW), weight (K, C/G, KH, KW), gradInput (N, C, H, W), overwritten.
    /// </summary>
    void Conv2dBackwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry geometry);

    /// <summary>
    /// dW[k, c, i, j] = sum over n, oh, ow of dY[n, k, oh, ow] * X[n, c', ih, iw]: input (N, C, H, W), gradOutput (N, K, OH, OW),
    /// gradWeight (K, C/G, KH, KW), overwritten or, when <paramref name="accumulate"/>, added to.
    /// </summary>
    void Conv2dBackwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry geometry, bool accumulate);

    /// <summary>Adds bias[c] to every element of channel c: output viewed as (N, C, rest), bias (C). Serves conv and dense layers.</summary>
    void BiasAdd(Tensor output, Tensor bias);

    /// <summary>gradBias[c] = sum of gradOutput over N and the spatial dimensions: gradOutput (N, C, rest), gradBias (C); a deterministic reduction.</summary>
    void BiasGradient(Tensor gradOutput, Tensor gradBias, bool accumulate);

    // ---------------------------------------------------------------- Epilogue: fused layer ops (bias and activation)

    /// <summary>
    /// y = act(conv(x, w) + b) with the bias and the activation of <paramref name="epilogue"/> applied as the output is
    /// written (as <see cref="Conv2dForward(Tensor, Tensor, Tensor?, Tensor, Conv2dGeometry)"/> followed by
    /// <see cref="ActivationForward"/>, in one op and the same bits).
    /// </summary>
    void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Conv2dGeometry geometry, Epilogue epilogue);

    /// <summary>
    /// Dense layer forward y = act(x Wᵀ + b): input (N, F), weight (U, F) as in PyTorch, optional bias (U), output (N, U),
    /// overwritten. One GEMM plus (when there is a bias or an activation) one fused epilogue pass.
    /// </summary>
    void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Epilogue epilogue);

    /// <summary>
    /// The whole backward of a convolution layer y = act(conv(x, w) + b), from dL/dy (<paramref name="gradOutput"/>) and, when the
    /// epilogue has an activation, the forward's output y (<paramref name="output"/>; the derivative is taken from y, see
    /// <see cref="Epilogue.CanDifferentiateFromOutput"/>): gradWeight (K, C/G, KH, KW) and, when given, gradBias (K)
    /// (overwritten, or added to when <paramref name="accumulate"/>) and gradInput (N, C, H, W) (overwritten). gradOutput is
    /// not modified. The same bits as ActivationBackward, Conv2dBackwardWeights, BiasGradient and Conv2dBackwardData in turn;
    /// the CUDA backend reads dL/dy once, where it also sums the bias gradient and lays out dL/dz for both GEMMs.
    /// </summary>
    void Conv2dBackward(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue, Tensor gradWeight,
        Tensor? gradBias, Tensor? gradInput, Conv2dGeometry geometry, bool accumulate);

    /// <summary>
    /// The whole backward of a dense layer y = act(x Wᵀ + b) (see <see cref="Conv2dBackward"/>): gradWeight (U, F), optional
    /// gradBias (U) (overwritten or accumulated) and gradInput (N, F) (overwritten), from gradOutput (N, U) and, with an
    /// activation, the output y (N, U).
    /// </summary>
    void LinearBackward(Tensor input, Tensor weight, Tensor? output, Tensor gradOutput, Epilogue epilogue, Tensor gradWeight,
        Tensor? gradBias, Tensor? gradInput, bool accumulate);

    // ---------------------------------------------------------------- Pool: pooling and resampling

    /// <summary>
    /// Max pooling: input (N, C, H, W) to output (N, C, OH, OW), and argmax (int32, N, C, OH, OW) holding the winning
    /// element's index h*W + w inside its input plane. Ties go to the first element in row-major window order; a NaN
    /// propagates (the first NaN in a window wins), as in PyTorch.
    /// </summary>
    void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Pool2dGeometry geometry);

    /// <summary>
    /// Routes each dY to its argmax position, summing where one element won several windows: gradOutput and argmax
    /// (N, C, OH, OW), gradInput (N, C, H, W), overwritten. A gather: each input element sums the windows that chose it.
    /// </summary>
    void MaxPool2dBackward(Tensor gradOutput, Tensor argmax, Tensor gradInput, Pool2dGeometry geometry);

    /// <summary>Average pooling: input (N, C, H, W) to output (N, C, OH, OW).</summary>
    void AvgPool2dForward(Tensor input, Tensor output, Pool2dGeometry geometry);

    /// <summary>Spreads each dY equally over its window; overlapping windows accumulate. gradInput (N, C, H, W) is overwritten.</summary>
    void AvgPool2dBackward(Tensor gradOutput, Tensor gradInput, Pool2dGeometry geometry);

    /// <summary>Nearest-neighbour upsampling: input (N, C, H, W) to output (N, C, H*scaleH, W*scaleW).</summary>
    void UpsampleNearest2dForward(Tensor input, Tensor output, int scaleH, int scaleW);

    /// <summary>Sums each scaleH x scaleW block of gradOutput into gradInput (N, C, H, W), overwritten.</summary>
    void UpsampleNearest2dBackward(Tensor gradOutput, Tensor gradInput, int scaleH, int scaleW);

    // ---------------------------------------------------------------- Activation: activations

    /// <summary>y = f(x) element-wise; x and y have equal element counts and may be the same tensor.</summary>
    void ActivationForward(ActivationKind kind, float alpha, Tensor x, Tensor y);

    /// <summary>dx = f'(x) * dy element-wise, using x or y = f(x) as the function needs. dx may alias dy.</summary>
    void ActivationBackward(ActivationKind kind, float alpha, Tensor x, Tensor y, Tensor gradY, Tensor gradX);

    // ---------------------------------------------------------------- SoftmaxLoss: softmax and losses

    /// <summary>Numerically stable softmax over the last dimension: x and y (rows, classes).</summary>
    void SoftmaxForward(Tensor x, Tensor y);

    /// <summary>dx = y * (dy - sum(dy * y)) per row: y, dy, dx (rows, classes).</summary>
    void SoftmaxBackward(Tensor y, Tensor gradY, Tensor gradX);

    /// <summary>
    /// Softmax cross-entropy with index labels: logits (N, classes), labels (int32, N), probabilities (N, classes) = softmax(logits),
    /// losses (N) = logsumexp(logits) - logits[label]. A label outside [0, classes) yields a NaN loss for that row (callers validate labels on the host).
    /// </summary>
    void SoftmaxCrossEntropyForward(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses);

    /// <summary>
    /// gradLogits = scale * (probabilities - onehot(labels)); scale is usually 1/N for a mean loss.
    /// A label outside [0, classes) yields a NaN gradient row, matching its NaN loss.
    /// </summary>
    void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale);

    /// <summary>
    /// Focal loss: losses[i] = -(1 - p_t)^gamma * log(p_t) where p_t = softmax(logits)[i, label]. probabilities receives the softmax.
    /// </summary>
    void FocalLossForward(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses);

    /// <summary>gradLogits = scale * d(focal loss)/d(logits), from the softmax probabilities.</summary>
    void FocalLossBackward(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale);

    /// <summary>
    /// A classifier's batch in one op, with no host wait: probabilities (N, classes) = softmax(logits), per-sample losses (N)
    /// (cross-entropy, or focal with <paramref name="gamma"/>), predicted classes (Int32, N; the first index of the largest
    /// probability, NaNs never winning), the gradient of the mean loss with respect to the logits when
    /// <paramref name="gradLogits"/> is given (scale 1/N), and the device-side <paramref name="metrics"/>: the batch's mean
    /// loss (float64 sum in sample order, so the same bits as the host mean), the step record and non-finite guard for the
    /// training modes, and seen / correct / loss sum / confusion for the counted batches (see <see cref="ClassificationStepMode"/>).
    /// Labels outside [0, classes) give NaN losses and gradient rows (callers validate labels on the host).
    /// </summary>
    void ClassificationStep(Tensor logits, Tensor labels, ClassificationLossKind loss, float gamma, Tensor probabilities,
        Tensor losses, Tensor predictions, Tensor? gradLogits, ClassificationMetrics metrics, ClassificationStepMode mode);

    // ---------------------------------------------------------------- Elementwise: dropout

    /// <summary>
    /// Inverted dropout with a counter-based RNG: mask[i] = u(seed, offset + i) &gt;= p ? 1/(1-p) : 0 and y = x * mask.
    /// The uniform u is <see cref="DropoutRng.Uniform"/>, identical on every backend, so masks are reproducible.
    /// Backward is <see cref="Mul"/> of dy with the mask.
    /// </summary>
    void DropoutForward(Tensor x, Tensor y, Tensor mask, float p, ulong seed, ulong offset);

    /// <summary>
    /// <see cref="DropoutForward(Tensor, Tensor, Tensor, float, ulong, ulong)"/> with the seed and offset read from device
    /// memory: <paramref name="seedAndOffset"/> is an Int32 tensor of 4 words (<see cref="DropoutRng.WriteSeedAndOffset"/>),
    /// so a replayed CUDA graph draws a new mask every step.
    /// </summary>
    void DropoutForward(Tensor x, Tensor y, Tensor mask, float p, Tensor seedAndOffset);

    // ---------------------------------------------------------------- Elementwise: element-wise and reductions

    /// <summary>y = a + b element-wise (equal element counts; y may alias a or b).</summary>
    void Add(Tensor a, Tensor b, Tensor y);

    /// <summary>y = a * b element-wise.</summary>
    void Mul(Tensor a, Tensor b, Tensor y);

    /// <summary>y = alpha * x.</summary>
    void Scale(Tensor x, float alpha, Tensor y);

    /// <summary>y += alpha * x.</summary>
    void Axpy(float alpha, Tensor x, Tensor y);

    /// <summary>Per-channel affine map y[n, c, i] = x[n, c, i] * scale[c] + shift[c]: x and y (N, C, rest), scale and shift (C); shift optional.</summary>
    void ChannelAffine(Tensor x, Tensor scale, Tensor? shift, Tensor y);

    /// <summary>
    /// Sum over the middle axis of x viewed as (outer, reduce, inner): y[o, i] = sum_r x[o, r, i], overwritten or accumulated.
    /// Summing over a contiguous run of axes is one call; any other set of axes is two.
    /// </summary>
    void ReduceSum(Tensor x, Tensor y, int outer, int reduce, int inner, bool accumulate);

    // ---------------------------------------------------------------- BatchNorm: batch normalization

    /// <summary>
    /// Batch normalization in training mode over (N, H, W) per channel: x and y (N, C, H, W); gamma, beta, saveMean,
    /// saveInvStd, runningMean, runningVar (C). Running statistics move by <paramref name="momentum"/> toward the batch
    /// mean and the unbiased batch variance.
    /// </summary>
    void BatchNorm2dForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean, Tensor saveInvStd,
        Tensor runningMean, Tensor runningVar, float momentum, float epsilon);

    /// <summary>Batch normalization with the running statistics: y = gamma * (x - mean) / sqrt(var + eps) + beta.</summary>
    void BatchNorm2dForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        float epsilon, Tensor y);

    /// <summary>Gradients of training-mode batch normalization: dx overwritten; dgamma and dbeta overwritten or accumulated.</summary>
    void BatchNorm2dBackward(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate);

    // ---------------------------------------------------------------- Optimizer: optimizers

    /// <summary>
    /// SGD with momentum (PyTorch semantics): g = grad + weightDecay*param; v = momentum*v + g;
    /// param -= lr * (nesterov ? g + momentum*v : v). With momentum 0, param -= lr*g and the velocity is untouched.
    /// </summary>
    void SgdStep(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum, float weightDecay, bool nesterov);

    /// <summary>
    /// Adam / AdamW: with decoupled weight decay (AdamW) param *= 1 - lr*wd, otherwise g = grad + wd*param;
    /// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; param -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps). <paramref name="step"/> t starts at 1.
    /// </summary>
    void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1, float beta2, float epsilon,
        float weightDecay, bool decoupledWeightDecay, int step);

    /// <summary>
    /// The table a multi-tensor optimizer update works on: one row (parameter, gradient, state...) per parameter, every row
    /// with the same number of Float32 tensors (3 or 4) of equal element counts. Make it once; it refers to the tensors.
    /// </summary>
    ParameterTable CreateParameterTable(IReadOnlyList<IReadOnlyList<Tensor>> rows);

    /// <summary>
    /// <see cref="SgdStep(Tensor, Tensor, Tensor, float, float, float, bool)"/> for every row of <paramref name="table"/>
    /// (parameter, gradient, velocity) in one launch, with the learning rate read from <paramref name="stepScalars"/>
    /// (<see cref="StepScalars"/>). With a <paramref name="guard"/> (<see cref="ClassificationMetrics.Guard"/>), nothing is
    /// updated once the stop word is set, nor, when <paramref name="skipNonFinite"/>, in a step whose loss was not finite.
    /// </summary>
    void SgdStep(ParameterTable table, Tensor stepScalars, float momentum, float weightDecay, bool nesterov, Tensor? guard, bool skipNonFinite);

    /// <summary>
    /// <see cref="AdamStep(Tensor, Tensor, Tensor, Tensor, float, float, float, float, float, bool, int)"/> for every row of
    /// <paramref name="table"/> (parameter, gradient, m, v) in one launch, with the learning rate and the step read from
    /// <paramref name="stepScalars"/>; t is that step minus the guard's skipped steps. Guard as for SGD.
    /// </summary>
    void AdamStep(ParameterTable table, Tensor stepScalars, float beta1, float beta2, float epsilon, float weightDecay,
        bool decoupledWeightDecay, Tensor? guard, bool skipNonFinite);
}
