using System.Runtime.CompilerServices;
namespace ConvNet.Gpu.Backends.Cpu.Kernels;

/// <summary>
/// Nearest-neighbour upsampling of one plane at a time.
/// Each call reads one (H, W) input plane and one (OH, OW) output plane in a fixed order, so the result is the same
/// whichever thread runs it.
/// </summary>
internal static unsafe class UpsampleKernels
{
    /// <summary>Nearest upsampling of one plane: (h, w) to (h*scaleH, w*scaleW); the first output row of a block is built, the rest copied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UpsampleForwardPlane(float* x, float* y, int h, int w, int scaleH, int scaleW)
    {
        int outW = w * scaleW;
        for (int r = 0; r < h; r++)
        {
            float* src = x + r * w;
            float* dst = y + (long)r * scaleH * outW;
            if (scaleW == 1)
                new ReadOnlySpan<float>(src, w).CopyTo(new Span<float>(dst, outW));
            else
                for (int c = 0; c < w; c++)
                {
                    float v = src[c];
                    float* d = dst + c * scaleW;
                    for (int j = 0; j < scaleW; j++) d[j] = v;
                }
            for (int i = 1; i < scaleH; i++)
                new ReadOnlySpan<float>(dst, outW).CopyTo(new Span<float>(dst + (long)i * outW, outW));
        }
    }

    /// <summary>Nearest-upsampling backward of one plane: each input element sums its scaleH x scaleW block, row-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UpsampleBackwardPlane(float* dy, float* dx, int h, int w, int scaleH, int scaleW)
    {
        int outW = w * scaleW;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
            {
                float sum = 0f;
                float* block = dy + (long)r * scaleH * outW + c * scaleW;
                for (int i = 0; i < scaleH; i++)
                    for (int j = 0; j < scaleW; j++) sum += block[i * outW + j];
                dx[r * w + c] = sum;
            }
    }
}
