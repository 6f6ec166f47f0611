using ConvNet.Gpu.Backends.Cpu.Kernels;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Scores are (rows, k) row-major; rows are split across threads when the tensor is large, and each row is
    // reduced by one thread in a fixed order (SoftmaxKernels), so results are deterministic.

    /// <inheritdoc/>
    protected override void SoftmaxForwardCore(Tensor x, Tensor y)
    {
        int rows = x.Shape[0], k = x.Shape[1];
        float* px = Ptr(x), py = Ptr(y);
        CpuParallel.For(this, rows, k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++) SoftmaxKernels.Forward(px + (long)r * k, py + (long)r * k, k);
        });
    }

    /// <inheritdoc/>
    protected override void SoftmaxBackwardCore(Tensor y, Tensor gradY, Tensor gradX)
    {
        int rows = y.Shape[0], k = y.Shape[1];
        float* py = Ptr(y), pdy = Ptr(gradY), pdx = Ptr(gradX);
        CpuParallel.For(this, rows, k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                long o = (long)r * k;
                SoftmaxKernels.Backward(py + o, pdy + o, pdx + o, k);
            }
        });
    }

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(Tensor logits, Tensor labels, Tensor probabilities, Tensor losses)
    {
        int rows = logits.Shape[0], k = logits.Shape[1];
        float* px = Ptr(logits), pp = Ptr(probabilities), pl = Ptr(losses);
        int* lab = IntPtr(labels);
        CpuParallel.For(this, rows, k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                long o = (long)r * k;
                float target = SoftmaxKernels.TargetLogit(px + o, lab[r], k);
                var stats = SoftmaxKernels.Forward(px + o, pp + o, k);
                pl[r] = SoftmaxKernels.CrossEntropyLoss(target, stats, lab[r], k);
            }
        });
    }

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(Tensor probabilities, Tensor labels, Tensor gradLogits, float scale)
    {
        int rows = probabilities.Shape[0], k = probabilities.Shape[1];
        float* pp = Ptr(probabilities), pg = Ptr(gradLogits);
        int* lab = IntPtr(labels);
        CpuParallel.For(this, rows, k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                long o = (long)r * k;
                SoftmaxKernels.CrossEntropyBackward(pp + o, lab[r], pg + o, k, scale);
            }
        });
    }

    /// <inheritdoc/>
    protected override void FocalLossForwardCore(Tensor logits, Tensor labels, float gamma, Tensor probabilities, Tensor losses)
    {
        int rows = logits.Shape[0], k = logits.Shape[1];
        float* px = Ptr(logits), pp = Ptr(probabilities), pl = Ptr(losses);
        int* lab = IntPtr(labels);
        CpuParallel.For(this, rows, k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                long o = (long)r * k;
                float target = SoftmaxKernels.TargetLogit(px + o, lab[r], k);
                var stats = SoftmaxKernels.Forward(px + o, pp + o, k);
                pl[r] = SoftmaxKernels.FocalLoss(target, pp + o, stats, lab[r], k, gamma);
            }
        });
    }

    /// <inheritdoc/>
    protected override void FocalLossBackwardCore(Tensor probabilities, Tensor labels, float gamma, Tensor gradLogits, float scale)
    {
        int rows = probabilities.Shape[0], k = probabilities.Shape[1];
        float* pp = Ptr(probabilities), pg = Ptr(gradLogits);
        int* lab = IntPtr(labels);
        CpuParallel.For(this, rows, k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                long o = (long)r * k;
                SoftmaxKernels.FocalBackward(pp + o, lab[r], pg + o, k, gamma, scale);
            }
        });
    }
}
