using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ConvNet.Gpu.Backends.Cpu;

/// <summary>A measured FP32 fused-multiply-add peak (see <see cref="CpuPeak.Measure"/>).</summary>
/// <param name="Gflops">Best aggregate GFLOP/s over all threads (an FMA counts as 2 FLOPs per lane).</param>
/// <param name="PerThreadGflops">Best single-thread GFLOP/s (the same loop on one thread alone).</param>
/// <param name="Threads">Threads that ran the probe at once.</param>
/// <param name="Instructions">The instruction set of the probe, e.g. "AVX-512F, 24 chains x 16 lanes".</param>
/// <param name="Milliseconds">Wall time the whole probe took.</param>
public readonly record struct CpuPeakResult(double Gflops, double PerThreadGflops, int Threads, string Instructions, double Milliseconds)
{
    /// <summary>One line for logs and tables, e.g. "measured FP32 FMA peak 441 GFLOP/s on 2 threads (225 on one; AVX-512F ...)".</summary>
    public override string ToString() =>
        $"measured FP32 FMA peak {Gflops:F0} GFLOP/s on {Threads} thread(s) ({PerThreadGflops:F0} on one; {Instructions}; best of timed trials)";
}

/// <summary>
/// Measures the FP32 peak of this CPU instead of assuming it: every thread runs many independent FMA chains (24 with
/// AVX-512, 12 with AVX2+FMA, 8 with Vector128) on register-resident vectors, so neither FMA latency nor memory
/// limits the loop and the issue width of the FMA units does. The FLOP count is exact: chains x lanes x 2 per
/// iteration. The result is the best of several short trials, which keeps it close to the true ceiling when other
/// processes share the cores (a loaded machine can only make a trial slower). Takes about 0.1-0.3 s.
/// </summary>
public static class CpuPeak
{
    /// <summary>Independent accumulator chains per thread with AVX-512 (24 of the 32 zmm registers).</summary>
    public const int Avx512Chains = 24;

    /// <summary>FMA iterations per timed trial per thread (each iteration issues one FMA per chain).</summary>
    private const int Iterations = 1_000_000;

    /// <summary>
    /// Runs the probe on <paramref name="threads"/> threads at once (default: <see cref="Environment.ProcessorCount"/>)
    /// and on one thread alone; <paramref name="trials"/> timed trials each, the best kept. Blocks the caller for the
    /// probe's duration; starts and joins its own threads.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">threads or trials below 1.</exception>
    public static CpuPeakResult Measure(int? threads = null, int trials = 5)
    {
        int t = threads ?? Environment.ProcessorCount;
        if (t < 1) throw new ConvNetArgumentException($"CpuPeak.Measure needs at least one thread, got threads={t}.", nameof(threads));
        if (trials < 1) throw new ConvNetArgumentException($"CpuPeak.Measure needs at least one trial, got trials={trials}.", nameof(trials));
        long start = Stopwatch.GetTimestamp();
        Probe(Iterations / 10); // JIT and warm the FMA units (some cores lower their clock for the first wide FMAs)
        double one = 0, all = 0;
        for (int i = 0; i < trials; i++)
        {
            one = Math.Max(one, RunOn(1));
            all = Math.Max(all, t == 1 ? one : RunOn(t));
        }
        return new CpuPeakResult(all, one, t, Instructions, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>The instruction set the probe uses on this CPU.</summary>
    public static string Instructions =>
        Avx512F.IsSupported ? $"AVX-512F, {Avx512Chains} chains x 16 lanes" :
        Fma.IsSupported ? "AVX2+FMA, 12 chains x 8 lanes" : "Vector128, 8 chains x 4 lanes (no FMA instruction)";

    /// <summary>GFLOP/s of <paramref name="threads"/> threads running the probe together (from a common start to the last finish).</summary>
    private static double RunOn(int threads)
    {
        using var ready = new Barrier(threads + 1);
        var workers = new Thread[threads];
        double flops = 0;
        for (int i = 0; i < threads; i++)
        {
            workers[i] = new Thread(() =>
            {
                ready.SignalAndWait();
                double f = Probe(Iterations);
                lock (workers) flops += f;
            }) { IsBackground = true, Name = "ConvNet.Gpu peak probe" };
            workers[i].Start();
        }
        ready.SignalAndWait();
        long t0 = Stopwatch.GetTimestamp();
        foreach (var w in workers) w.Join();
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return flops / seconds / 1e9;
    }

    /// <summary>Runs <paramref name="iterations"/> iterations on the calling thread; returns the FLOPs issued.</summary>
    private static double Probe(int iterations) =>
        Avx512F.IsSupported ? Avx512(iterations) : Fma.IsSupported ? Avx2(iterations) : Portable(iterations);

    // Each chain is acc = acc * m + a with m slightly below 1 and a small, so values stay finite and normal forever
    // (denormals would slow some CPUs down). The result is folded into a checksum so the JIT cannot drop the loop.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Avx512(int iterations)
    {
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-6f);
        Vector512<float> c0 = Vector512.Create(0.10f), c1 = Vector512.Create(0.11f), c2 = Vector512.Create(0.12f), c3 = Vector512.Create(0.13f);
        Vector512<float> c4 = Vector512.Create(0.14f), c5 = Vector512.Create(0.15f), c6 = Vector512.Create(0.16f), c7 = Vector512.Create(0.17f);
        Vector512<float> c8 = Vector512.Create(0.18f), c9 = Vector512.Create(0.19f), c10 = Vector512.Create(0.20f), c11 = Vector512.Create(0.21f);
        Vector512<float> c12 = Vector512.Create(0.22f), c13 = Vector512.Create(0.23f), c14 = Vector512.Create(0.24f), c15 = Vector512.Create(0.25f);
        Vector512<float> c16 = Vector512.Create(0.26f), c17 = Vector512.Create(0.27f), c18 = Vector512.Create(0.28f), c19 = Vector512.Create(0.29f);
        Vector512<float> c20 = Vector512.Create(0.30f), c21 = Vector512.Create(0.31f), c22 = Vector512.Create(0.32f), c23 = Vector512.Create(0.33f);
        for (int i = 0; i < iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a);
            c2 = Avx512F.FusedMultiplyAdd(c2, m, a); c3 = Avx512F.FusedMultiplyAdd(c3, m, a);
            c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
            c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a);
            c8 = Avx512F.FusedMultiplyAdd(c8, m, a); c9 = Avx512F.FusedMultiplyAdd(c9, m, a);
            c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
            c12 = Avx512F.FusedMultiplyAdd(c12, m, a); c13 = Avx512F.FusedMultiplyAdd(c13, m, a);
            c14 = Avx512F.FusedMultiplyAdd(c14, m, a); c15 = Avx512F.FusedMultiplyAdd(c15, m, a);
            c16 = Avx512F.FusedMultiplyAdd(c16, m, a); c17 = Avx512F.FusedMultiplyAdd(c17, m, a);
            c18 = Avx512F.FusedMultiplyAdd(c18, m, a); c19 = Avx512F.FusedMultiplyAdd(c19, m, a);
            c20 = Avx512F.FusedMultiplyAdd(c20, m, a); c21 = Avx512F.FusedMultiplyAdd(c21, m, a);
            c22 = Avx512F.FusedMultiplyAdd(c22, m, a); c23 = Avx512F.FusedMultiplyAdd(c23, m, a);
        }
        var sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
                + ((c12 + c13) + (c14 + c15)) + ((c16 + c17) + (c18 + c19)) + ((c20 + c21) + (c22 + c23));
        Sink(Vector512.Sum(sum));
        return (double)iterations * Avx512Chains * 16 * 2;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Avx2(int iterations)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-6f);
        Vector256<float> c0 = Vector256.Create(0.10f), c1 = Vector256.Create(0.11f), c2 = Vector256.Create(0.12f), c3 = Vector256.Create(0.13f);
        Vector256<float> c4 = Vector256.Create(0.14f), c5 = Vector256.Create(0.15f), c6 = Vector256.Create(0.16f), c7 = Vector256.Create(0.17f);
        Vector256<float> c8 = Vector256.Create(0.18f), c9 = Vector256.Create(0.19f), c10 = Vector256.Create(0.20f), c11 = Vector256.Create(0.21f);
        for (int i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a); c2 = Fma.MultiplyAdd(c2, m, a);
            c3 = Fma.MultiplyAdd(c3, m, a); c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a); c8 = Fma.MultiplyAdd(c8, m, a);
            c9 = Fma.MultiplyAdd(c9, m, a); c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
        }
        var sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
        Sink(Vector256.Sum(sum));
        return (double)iterations * 12 * 8 * 2;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Portable(int iterations)
    {
        var m = Vector128.Create(0.999999f);
        var a = Vector128.Create(1e-6f);
        Vector128<float> c0 = Vector128.Create(0.10f), c1 = Vector128.Create(0.11f), c2 = Vector128.Create(0.12f), c3 = Vector128.Create(0.13f);
        Vector128<float> c4 = Vector128.Create(0.14f), c5 = Vector128.Create(0.15f), c6 = Vector128.Create(0.16f), c7 = Vector128.Create(0.17f);
        for (int i = 0; i < iterations; i++)
        {
            c0 = c0 * m + a; c1 = c1 * m + a; c2 = c2 * m + a; c3 = c3 * m + a;
            c4 = c4 * m + a; c5 = c5 * m + a; c6 = c6 * m + a; c7 = c7 * m + a;
        }
        Sink(Vector128.Sum(((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7))));
        return (double)iterations * 8 * 4 * 2;
    }

    private static float _sink;

    private static void Sink(float value) => Volatile.Write(ref _sink, value);
}
