namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The warp intrinsics' results computed from their documented meaning (CUDA C++ Programming Guide, "Warp Shuffle
/// Functions" and "Warp Vote Functions"; PTX ISA cvt.rna and mma.m16n8k8), written independently of the emulator's
/// PTX pseudo-code, so the two check each other.
/// </summary>
internal static class WarpOracle
{
    /// <summary>
    /// out[t] for a whole-block shuffle of <paramref name="input"/> (lane = t % 32). op 0 __shfl_sync: the value of lane
    /// (src mod width) of the caller's width-segment; 1 __shfl_up_sync: lane - delta unless that leaves the segment
    /// (then the caller's own); 2 __shfl_down_sync: lane + delta, the same; 3 __shfl_xor_sync: lane ^ laneMask, own value
    /// when that lies in a later segment (earlier segments may be read).
    /// </summary>
    public static int[] Shuffle(int[] input, int op, int arg, int width)
    {
        var result = new int[input.Length];
        for (int t = 0; t < input.Length; t++)
        {
            int warpBase = t - t % 32, lane = t % 32, segment = lane - lane % width, source = lane;
            switch (op)
            {
                case 0: source = segment + (arg % width); break;
                case 1: source = lane % width >= arg ? lane - arg : lane; break;
                case 2: source = lane % width + arg < width ? lane + arg : lane; break;
                default:
                    int partner = lane ^ (arg & 31);
                    source = partner >= segment + width ? lane : partner;
                    break;
            }
            result[t] = input[warpBase + source];
        }
        return result;
    }

    /// <summary>Bit l set when lane l of warp <paramref name="warp"/> is in <paramref name="mask"/> and its predicate is non-zero.</summary>
    public static uint Ballot(int[] predicate, int warp, uint mask)
    {
        uint bits = 0;
        for (int lane = 0; lane < 32; lane++)
            if ((mask >> lane & 1) != 0 && predicate[warp * 32 + lane] != 0) bits |= 1u << lane;
        return bits;
    }

    /// <summary>cn_warp_sum's fixed pairing: five rounds of v[l] += v[l ^ offset] for offset 16, 8, 4, 2, 1 (float).</summary>
    public static float ButterflySum(float[] x, int warp)
    {
        var v = x.Skip(warp * 32).Take(32).ToArray();
        for (int offset = 16; offset > 0; offset >>= 1)
        {
            var next = new float[32];
            for (int l = 0; l < 32; l++) next[l] = v[l] + v[l ^ offset];
            v = next;
        }
        return v[0];
    }

    /// <summary>
    /// The TF32 bits of <paramref name="x"/> rounded to nearest with ties away from zero: 10 fraction bits, the FP32
    /// exponent range (subnormals keep the quantum 2^-136), overflow to infinity. Infinities stay. (A NaN stays a NaN;
    /// its payload is the hardware's business, so callers accept any NaN for a NaN input.)
    /// </summary>
    public static int RoundToTf32(float x)
    {
        if (float.IsNaN(x) || float.IsInfinity(x)) return BitConverter.SingleToInt32Bits(x) & unchecked((int)0xffffe000);
        double a = Math.Abs((double)x);
        if (a == 0) return BitConverter.SingleToInt32Bits(x);
        int exponent = Math.Max(Math.ILogB(a), -126);
        double quantum = Math.ScaleB(1.0, exponent - 10);
        double rounded = Math.Round(a / quantum, MidpointRounding.AwayFromZero) * quantum;
        float result = (float)(x < 0 ? -rounded : rounded); // exact: rounded has at most 11 significant bits (or is 2^128 -> inf)
        return BitConverter.SingleToInt32Bits(result);
    }

    /// <summary>D (16x8) = A (16x8) * B (8x8, k x n) + C, in double, with A and B first rounded to TF32 when asked.</summary>
    public static float[] MatMul(float[] a, float[] b, float[] c, bool tf32)
    {
        double R(float v) => tf32 ? BitConverter.Int32BitsToSingle(RoundToTf32(v)) : v;
        var d = new float[128];
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++)
            {
                double sum = c[m * 8 + n];
                for (int k = 0; k < 8; k++) sum += R(a[m * 8 + k]) * R(b[k * 8 + n]);
                d[m * 8 + n] = (float)sum;
            }
        return d;
    }

    /// <summary>cn_probe_cp_async's output: out[i * B + t] = src[i * B + (t + 1) % B], zero past the end of src.</summary>
    public static float[] CpAsyncPipeline(float[] src, int tiles, int threads)
    {
        var result = new float[tiles * threads];
        for (int tile = 0; tile < tiles; tile++)
            for (int t = 0; t < threads; t++)
            {
                int i = tile * threads + (t + 1) % threads;
                result[tile * threads + t] = i < src.Length ? src[i] : 0f;
            }
        return result;
    }
}
