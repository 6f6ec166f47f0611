using System.Diagnostics;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// The PyTorch peer's timing rule, so both sides are measured in their steady state: warm-up calls, then at least
/// <c>repeats</c> timed calls, continuing until 0.2 s have passed (at most 10 x repeats); the median in milliseconds.
/// Each call must end synchronized (our op cases call Synchronize; the peer calls torch.cuda.synchronize).
/// <para>
/// Warm-up: at least three calls and at least <see cref="WarmUpSeconds"/>. PyTorch's kernels are compiled ahead of time,
/// so three calls reach its steady state; .NET's tiered JIT runs a method on unoptimized code until about 30 calls and a
/// background recompilation later (loops switch through on-stack replacement), so with three calls the first row of each
/// shape (the forward pass) was timed partly on tier-0 code: 6.6 ms instead of 3.8 ms for the resnet forward on
/// 2026-11-30 (benchmarks/results/2026-11-30-cpu.md). A training run calls every op thousands of times, so the steady
/// state is what users get.
/// </para>
/// </summary>
public static class MedianTimer
{
    /// <summary>The least time spent on warm-up calls before timing (see the remarks on tiered compilation).</summary>
    public const double WarmUpSeconds = 0.5;

    /// <summary>Median milliseconds of <paramref name="run"/>.</summary>
    public static double MedianMilliseconds(Action run, int repeats, double minSeconds = 0.2)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < WarmUpSeconds; i++) run();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < repeats || (total.Elapsed.TotalSeconds < minSeconds && times.Count < 10 * repeats))
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        times.Sort();
        int n = times.Count;
        return n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    }
}
