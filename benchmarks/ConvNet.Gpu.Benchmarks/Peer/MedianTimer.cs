using System.Diagnostics;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>
/// The PyTorch peer's timing rule, so both sides are measured alike: three warm-up calls, then at least
/// <c>repeats</c> timed calls, continuing until 0.2 s have passed (at most 10 x repeats); the median in milliseconds.
/// Each call must end synchronized (our op cases call Synchronize; the peer calls torch.cuda.synchronize).
/// </summary>
public static class MedianTimer
{
    /// <summary>Median milliseconds of <paramref name="run"/>.</summary>
    public static double MedianMilliseconds(Action run, int repeats, double minSeconds = 0.2)
    {
        for (int i = 0; i < 3; i++) run();
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
