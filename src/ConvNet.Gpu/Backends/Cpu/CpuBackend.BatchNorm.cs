using System.Buffers;
using ConvNet.Gpu.Backends.Cpu.Kernels;

namespace ConvNet.Gpu.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Batch norm views x as (N, C, rest), rest = H*W (1 for rank 2). Channel statistics are reduced in two levels:
    // first one float64 partial per (c, n) plane (planes run in parallel), then, per channel, those N partials added
    // in n order. The split is fixed by the shape, so the statistics are bit-identical for any thread count.
    // Variance is two-pass (mean first, then squared deviations), which stays accurate when |mean| >> std.

    /// <summary>Batch-norm shape: batch, channels, elements per plane, elements per channel.</summary>
    private readonly record struct NormShape(int N, int C, int Rest)
    {
        public long M => (long)N * Rest;
        public static NormShape Of(Tensor x) =>
            new(x.Shape[0], x.Shape[1], (int)(x.ElementCount / ((long)x.Shape[0] * x.Shape[1])));
        /// <summary>Element offset of plane (n, c).</summary>
        public long Plane(int n, int c) => ((long)n * C + c) * Rest;
    }

    /// <summary>
    /// Fills <paramref name="partials"/>[c*N + n] with <paramref name="planeReduce"/>(n, c) for every plane, in parallel.
    /// </summary>
    private void ReducePlanes(NormShape s, double[] partials, Func<int, int, double> planeReduce) =>
        CpuParallel.For(this, s.N * s.C, s.Rest, (i0, i1) =>
        {
            for (int i = i0; i < i1; i++) partials[i] = planeReduce(i % s.N, i / s.N);
        });

    /// <summary>Sum of channel c's N partials, in n order.</summary>
    private static double ChannelTotal(double[] partials, NormShape s, int c)
    {
        double t = 0;
        for (int n = 0; n < s.N; n++) t += partials[c * s.N + n];
        return t;
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardTrainingCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, Tensor saveMean,
        Tensor saveInvStd, Tensor runningMean, Tensor runningVar, float momentum, float epsilon)
    {
        var s = NormShape.Of(x);
        float* px = Ptr(x), py = Ptr(y), pg = Ptr(gamma), pb = Ptr(beta);
        float* pMean = Ptr(saveMean), pInv = Ptr(saveInvStd), pRm = Ptr(runningMean), pRv = Ptr(runningVar);
        var partials = ArrayPool<double>.Shared.Rent(s.N * s.C);
        var mean = new double[s.C];
        var invStd = new double[s.C];
        try
        {
            ReducePlanes(s, partials, (n, c) => Reductions.Sum(px + s.Plane(n, c), s.Rest));
            for (int c = 0; c < s.C; c++) mean[c] = ChannelTotal(partials, s, c) / s.M;

            ReducePlanes(s, partials, (n, c) => Reductions.SumSquaredDeviations(px + s.Plane(n, c), s.Rest, mean[c]));
            for (int c = 0; c < s.C; c++)
            {
                double sq = ChannelTotal(partials, s, c);
                double variance = sq / s.M;
                // PyTorch: running_var uses the unbiased variance; one value per channel has none, so keep the biased (0).
                double unbiased = s.M > 1 ? sq / (s.M - 1) : variance;
                invStd[c] = 1.0 / Math.Sqrt(variance + epsilon);
                pMean[c] = (float)mean[c];
                pInv[c] = (float)invStd[c];
                pRm[c] = (float)(momentum * mean[c] + (1.0 - momentum) * pRm[c]);
                pRv[c] = (float)(momentum * unbiased + (1.0 - momentum) * pRv[c]);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(partials);
        }

        var scale = new double[s.C];
        for (int c = 0; c < s.C; c++) scale[c] = pg[c] * invStd[c];
        NormalizePlanes(s, px, py, mean, scale, pb);
    }

    // y = (x - mean[c]) * scale[c] + shift[c] over every (sample, channel) plane, planes split among the threads.
    private void NormalizePlanes(NormShape s, float* px, float* py, double[] mean, double[] scale, float* shift) =>
        CpuParallel.For(this, s.N * s.C, s.Rest, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                int c = p % s.C;
                long o = (long)p * s.Rest;
                BatchNormKernels.Normalize(px + o, py + o, s.Rest, mean[c], scale[c], shift[c]);
            }
        });

    /// <inheritdoc/>
    protected override void BatchNorm2dForwardInferenceCore(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, float epsilon, Tensor y)
    {
        var s = NormShape.Of(x);
        float* px = Ptr(x), py = Ptr(y), pg = Ptr(gamma), pb = Ptr(beta), pRm = Ptr(runningMean), pRv = Ptr(runningVar);
        var mean = new double[s.C];
        var scale = new double[s.C];
        for (int c = 0; c < s.C; c++)
        {
            mean[c] = pRm[c];
            scale[c] = pg[c] / Math.Sqrt((double)pRv[c] + epsilon);
        }
        NormalizePlanes(s, px, py, mean, scale, pb);
    }

    /// <inheritdoc/>
    protected override void BatchNorm2dBackwardCore(Tensor x, Tensor gradY, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor gradX, Tensor gradGamma, Tensor gradBeta, bool accumulate)
    {
        // With xhat = (x - mean) * invstd, M = N * rest, per channel:
        //   dbeta = sum(dy), dgamma = sum(dy * xhat),
        //   dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M)
        //      = kDy * dy + kX * (x - mean) + k0.
        var s = NormShape.Of(x);
        float* px = Ptr(x), pdy = Ptr(gradY), pdx = Ptr(gradX), pg = Ptr(gamma);
        float* pMean = Ptr(saveMean), pInv = Ptr(saveInvStd), pdg = Ptr(gradGamma), pdb = Ptr(gradBeta);
        var partials = ArrayPool<double>.Shared.Rent(s.N * s.C);
        var kDy = new double[s.C];
        var kX = new double[s.C];
        var k0 = new double[s.C];
        try
        {
            ReducePlanes(s, partials, (n, c) => Reductions.Sum(pdy + s.Plane(n, c), s.Rest));
            var sumDy = new double[s.C];
            for (int c = 0; c < s.C; c++) sumDy[c] = ChannelTotal(partials, s, c);

            ReducePlanes(s, partials, (n, c) => Reductions.DotCentered(px + s.Plane(n, c), pMean[c], pdy + s.Plane(n, c), s.Rest));
            for (int c = 0; c < s.C; c++)
            {
                double inv = pInv[c];
                double sumDyXhat = ChannelTotal(partials, s, c) * inv;
                double gi = pg[c] * inv;
                kDy[c] = gi;
                kX[c] = -gi * inv * sumDyXhat / s.M;
                k0[c] = -gi * sumDy[c] / s.M;
                pdg[c] = accumulate ? (float)(pdg[c] + sumDyXhat) : (float)sumDyXhat;
                pdb[c] = accumulate ? (float)(pdb[c] + sumDy[c]) : (float)sumDy[c];
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(partials);
        }

        CpuParallel.For(this, s.N * s.C, s.Rest, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                int c = p % s.C;
                long o = (long)p * s.Rest;
                BatchNormKernels.Backward(px + o, pdy + o, pdx + o, s.Rest, pMean[c], kDy[c], kX[c], k0[c]);
            }
        });
    }
}
