namespace ConvNet.Gpu.Backends.Cuda;

// The convolution algorithm registry at work: for each (pass, geometry, TF32 mode) the first use decides, and the
// decision is remembered (ConvAlgorithmChoices) and reused:
//   1. CudaBackendOptions.ForceConvAlgorithm, when it can run the geometry here; else Im2ColGemm, with the reason;
//   2. Autotune On, on a GPU: the persistent cache (ConvAutotuneCache), else every eligible candidate timed with CUDA
//      events (one warm-up, then the median of TuningRuns runs) into scratch outputs, the fastest kept (ties: the earlier
//      in the cost order) and written to the cache;
//   3. otherwise (Autotune Off, or the emulated device whose host timings say nothing about a GPU): the first eligible
//      candidate of ConvAlgorithmRegistry.CostOrder.
// Tuning synchronizes the host once per new geometry (like cudnn.benchmark); it never runs inside a captured graph
// because the eager warm-up step has already decided every geometry.
public sealed partial class CudaBackend
{
    private const int TuningRuns = 5;

    private readonly Dictionary<string, ConvAlgorithmChoice> _convChoices = new(StringComparer.Ordinal);
    private readonly List<ConvAlgorithmChoice> _convChoiceLog = [];
    private readonly Lock _convChoiceLock = new();
    private ConvAutotuneCache? _autotuneCache;

    /// <summary>
    /// Every convolution algorithm decision so far, in the order they were made: pass, geometry, algorithm, the reason,
    /// the autotuner's timings and the candidates that could not run (with why).
    /// </summary>
    public IReadOnlyList<ConvAlgorithmChoice> ConvAlgorithmChoices
    {
        get { lock (_convChoiceLock) return _convChoiceLog.ToArray(); }
    }

    /// <summary>The decision for <paramref name="pass"/> of <paramref name="g"/> (made now, and tuned if that is the policy, when new).</summary>
    public ConvAlgorithmChoice ConvAlgorithmFor(ConvPass pass, Conv2dGeometry g)
    {
        ArgumentNullException.ThrowIfNull(g);
        ThrowIfDisposed();
        return ChooseConvAlgorithm(pass, g);
    }

    /// <summary>
    /// Times every algorithm that can run <paramref name="pass"/> of <paramref name="g"/> on this device (one warm-up,
    /// then the median of <paramref name="runs"/> runs, in milliseconds of device time measured with CUDA events; on the
    /// emulated device, host time) on scratch buffers, leaving every tensor and decision untouched. Blocks the host. For
    /// <c>convnet bench --algorithms</c> and the benchmarks; the autotuner does the same on first use of a geometry.
    /// </summary>
    public IReadOnlyDictionary<ConvAlgorithm, double> TimeConvAlgorithms(ConvPass pass, Conv2dGeometry g, int runs = TuningRuns)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        ThrowIfDisposed();
        var eligible = ConvAlgorithmRegistry.CostOrder
            .Where(a => ConvAlgorithmRegistry.WhyNot(a, pass, g, _device.Info.PtxTarget, AllowTf32) is null).ToList();
        return TimeCandidates(pass, g, eligible, runs);
    }

    /// <summary>The autotuner's cache file (null when it keeps results in memory only), and why it could not be read, if so.</summary>
    public (string? Path, string? Problem) ConvAutotuneCacheStatus => (AutotuneCache.Path, AutotuneCache.LoadProblem);

    private ConvAutotuneCache AutotuneCache => _autotuneCache ??= new ConvAutotuneCache(
        Options.AutotuneCachePath ?? ConvAutotuneCache.DefaultPath(), ConvAutotuneCache.DeviceKey(_device.Info));

    private ConvAlgorithmChoice ChooseConvAlgorithm(ConvPass pass, Conv2dGeometry g)
    {
        bool tf32 = AllowTf32;
        string key = ConvAutotuneCache.Key(pass, g, tf32);
        lock (_convChoiceLock)
        {
            if (_convChoices.TryGetValue(key, out var known)) return known;
        }
        var rejected = new Dictionary<ConvAlgorithm, string>();
        var eligible = new List<ConvAlgorithm>();
        foreach (var candidate in ConvAlgorithmRegistry.CostOrder)
        {
            string? why = ConvAlgorithmRegistry.WhyNot(candidate, pass, g, _device.Info.PtxTarget, tf32);
            if (why is null) eligible.Add(candidate);
            else rejected[candidate] = why;
        }
        var none = new Dictionary<ConvAlgorithm, double>();
        ConvAlgorithmChoice choice;
        if (Options.ForceConvAlgorithm is { } forced)
        {
            choice = rejected.TryGetValue(forced, out string? why)
                ? new(pass, g, ConvAlgorithm.Im2ColGemm, $"forced {forced} cannot run here ({why}); fell back to Im2ColGemm", none, rejected)
                : new(pass, g, forced, "forced (CudaBackendOptions.ForceConvAlgorithm)", none, rejected);
        }
        else if (Options.Autotune == ConvAutotune.On && !_device.IsEmulated && eligible.Count > 1)
        {
            choice = Autotuned(pass, g, key, eligible, rejected);
        }
        else
        {
            string policy = eligible.Count == 1 ? "the only eligible candidate"
                : _device.IsEmulated ? "fixed cost order (emulated device)" : "fixed cost order (Autotune Off)";
            choice = new(pass, g, eligible[0], policy, none, rejected);
        }
        lock (_convChoiceLock)
        {
            if (_convChoices.TryAdd(key, choice)) _convChoiceLog.Add(choice);
            return _convChoices[key];
        }
    }

    private ConvAlgorithmChoice Autotuned(ConvPass pass, Conv2dGeometry g, string key, List<ConvAlgorithm> eligible,
        Dictionary<ConvAlgorithm, string> rejected)
    {
        var cached = AutotuneCache.Find(key);
        if (cached is not null && eligible.Contains(cached.Algorithm))
            return new(pass, g, cached.Algorithm, $"autotuned earlier (cache {AutotuneCache.Path ?? "in memory"})",
                cached.TimingsMilliseconds, rejected);
        var timings = TimeCandidates(pass, g, eligible, TuningRuns);
        var best = eligible.MinBy(a => timings[a])!; // MinBy keeps the first minimum: ties go to the cheaper cost order
        AutotuneCache.Store(key, new ConvAutotuneCache.Entry(best, timings));
        string runnerUp = eligible.Count > 1
            ? $", next {eligible.Where(a => a != best).MinBy(a => timings[a])} at {timings[eligible.Where(a => a != best).MinBy(a => timings[a])!]:0.###} ms"
            : "";
        return new(pass, g, best, $"autotuned: fastest of {eligible.Count} ({timings[best]:0.###} ms{runnerUp})", timings, rejected);
    }

    /// <summary>
    /// Median device time (ms) of <paramref name="runs"/> runs of each candidate on scratch buffers (so the op's real
    /// tensors, and an accumulating weight gradient, are untouched). Each candidate runs once first to warm up.
    /// </summary>
    private Dictionary<ConvAlgorithm, double> TimeCandidates(ConvPass pass, Conv2dGeometry g, List<ConvAlgorithm> eligible, int runs)
    {
        long inputBytes = g.InputShape.ElementCount * 4, outputBytes = g.OutputShape.ElementCount * 4, weightBytes = g.WeightShape.ElementCount * 4;
        ulong x = _pool.Rent(inputBytes), w = _pool.Rent(weightBytes), y = _pool.Rent(outputBytes);
        var timings = new Dictionary<ConvAlgorithm, double>();
        try
        {
            // Any finite data times the same; 0x3c23d70a is 0.01f, so no denormal or overflow slows a candidate down.
            _device.MemsetD32Async(x, 0x3c23d70a, g.InputShape.ElementCount);
            _device.MemsetD32Async(w, 0x3c23d70a, g.WeightShape.ElementCount);
            _device.MemsetD32Async(y, 0x3c23d70a, g.OutputShape.ElementCount);
            using var start = _device.CreateEvent();
            using var end = _device.CreateEvent();
            foreach (var algorithm in eligible)
            {
                void Run()
                {
                    switch (pass)
                    {
                        case ConvPass.Forward: RunForward(algorithm, x, w, 0, y, g); break;
                        case ConvPass.BackwardData: RunBackwardData(algorithm, y, w, x, g); break;
                        default: RunBackwardWeights(algorithm, x, y, w, g, accumulate: false); break;
                    }
                }
                Run();
                var samples = new double[runs];
                for (int i = 0; i < runs; i++)
                {
                    start.Record();
                    Run();
                    end.Record();
                    samples[i] = CudaEvent.ElapsedMilliseconds(start, end);
                }
                Array.Sort(samples);
                timings[algorithm] = samples[runs / 2];
            }
        }
        finally
        {
            _pool.Return(x, inputBytes);
            _pool.Return(w, weightBytes);
            _pool.Return(y, outputBytes);
        }
        return timings;
    }
}
