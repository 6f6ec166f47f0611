using System.Text.Json.Nodes;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// The convolution autotuner: on a GPU (here the emulated device reporting itself as one, timed by host-clock events) it
/// times every eligible candidate once per geometry, keeps the fastest, records the timings, and stores the result in a
/// JSON cache that a later backend reuses without timing anything; the cache round-trips, keeps other devices' entries,
/// and survives a corrupt file by saying so. Autotune Off and the emulated device use the fixed cost order.
/// </summary>
public sealed class ConvAutotuneTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("convnet-autotune-").FullName;
    private readonly TestRng _rng = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CachePath => Path.Combine(_dir, "cache", "conv-autotune.json");

    private static (RecordingCudaDevice Device, CudaBackend Backend) PretendGpu(CudaBackendOptions options)
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
        var device = new RecordingCudaDevice(EmulatedCudaDevice.Open()) { ReportAsGpu = true };
        return (device, new CudaBackend(device, options));
    }

    [Fact]
    public void First_use_times_every_eligible_candidate_keeps_the_fastest_and_a_later_backend_reuses_the_cache()
    {
        var g = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(2, 3, 9, 8), 5);
        var options = CudaTestBackends.EmulatedOptions with { AllowTf32 = true, AutotuneCachePath = CachePath };
        float[] xs = _rng.Uniform(g.InputShape.ElementCount), ws = _rng.Uniform(g.WeightShape.ElementCount);
        var expected = ConvReference.Forward(Array.ConvertAll(xs, v => (double)v), Array.ConvertAll(ws, v => (double)v), null, g);

        // One forward on a fresh pretend-GPU backend sharing the cache file; returns the output.
        float[] Forward(RecordingCudaDevice device, CudaBackend cuda)
        {
            using var x = cuda.Allocate(g.InputShape);
            using var w = cuda.Allocate(g.WeightShape);
            using var y = cuda.Allocate(g.OutputShape);
            x.Upload(xs);
            w.Upload(ws);
            device.Clear();
            cuda.Conv2dForward(x, w, null, y, g);
            return y.ToArray();
        }

        var (device, cuda) = PretendGpu(options);
        ConvAlgorithmChoice first;
        using (cuda)
        {
            float[] y = Forward(device, cuda);
            first = Assert.Single(cuda.ConvAlgorithmChoices);
            // Eligible here: TF32, FP32 implicit, im2col (not depthwise, not 1x1). Each ran 1 + 5 times, then the op once.
            Assert.Equal([ConvAlgorithm.ImplicitGemmTf32, ConvAlgorithm.ImplicitGemmFp32, ConvAlgorithm.Im2ColGemm],
                first.TimingsMilliseconds.Keys.OrderBy(ConvAlgorithmRegistryOrder));
            Assert.All(first.TimingsMilliseconds.Values, ms => Assert.True(ms > 0));
            Assert.Equal(first.TimingsMilliseconds.MinBy(kv => kv.Value).Key, first.Algorithm);
            Assert.StartsWith("autotuned: fastest of 3 (", first.Reason);
            int Runs(string kernel) => device.Launches.Count(l => l.Kernel == kernel);
            Assert.Equal(6 + (first.Algorithm == ConvAlgorithm.ImplicitGemmTf32 ? 1 : 0), Runs("cn_igemm_fwd_tf32"));
            Assert.Equal(6 + (first.Algorithm == ConvAlgorithm.ImplicitGemmFp32 ? 1 : 0), Runs("cn_igemm_fwd_f32_async"));
            Assert.Equal(6 + (first.Algorithm == ConvAlgorithm.Im2ColGemm ? 1 : 0), Runs("cn_im2col"));
            // The real output is the chosen algorithm's (the tuning runs wrote scratch buffers).
            TensorAssert.Close(y, expected, Tolerance.CudaVsCpuTf32ForReduction(g.ColumnRowsPerGroup), g.OutputShape, _rng.Label("tuned forward"));
        }
        Assert.True(File.Exists(CachePath));

        var (device2, cuda2) = PretendGpu(options);
        using (cuda2)
        {
            Forward(device2, cuda2);
            var again = Assert.Single(cuda2.ConvAlgorithmChoices);
            Assert.Equal(first.Algorithm, again.Algorithm);
            Assert.Equal(first.TimingsMilliseconds, again.TimingsMilliseconds);
            Assert.Equal($"autotuned earlier (cache {CachePath})", again.Reason);
            Assert.True(device2.Launches.Count <= 2 && device2.Gemms.Count <= 1, "the cached decision runs the op once, nothing is timed");
            Assert.Null(cuda2.ConvAutotuneCacheStatus.Problem);
        }
    }

    private static int ConvAlgorithmRegistryOrder(ConvAlgorithm a) => a switch
    {
        ConvAlgorithm.Depthwise => 0,
        ConvAlgorithm.PointwiseGemm => 1,
        ConvAlgorithm.ImplicitGemmTf32 => 2,
        ConvAlgorithm.ImplicitGemmFp32 => 3,
        _ => 4,
    };

    [Fact]
    public void Autotune_off_and_a_forced_algorithm_time_nothing()
    {
        var g = Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(1, 2, 6, 6), 3);
        var (_, off) = PretendGpu(CudaTestBackends.EmulatedOptions with { Autotune = ConvAutotune.Off, AutotuneCachePath = CachePath });
        using (off)
        {
            var choice = off.ConvAlgorithmFor(ConvPass.BackwardWeights, g);
            Assert.Equal(ConvAlgorithm.ImplicitGemmFp32, choice.Algorithm);
            Assert.Equal("fixed cost order (Autotune Off)", choice.Reason);
            Assert.Empty(choice.TimingsMilliseconds);
        }
        var (_, forced) = PretendGpu(CudaTestBackends.EmulatedOptions with { ForceConvAlgorithm = ConvAlgorithm.Im2ColGemm, AutotuneCachePath = CachePath });
        using (forced)
            Assert.Equal("forced (CudaBackendOptions.ForceConvAlgorithm)", forced.ConvAlgorithmFor(ConvPass.Forward, g).Reason);
        Assert.False(File.Exists(CachePath));
    }

    [Fact]
    public void The_cache_round_trips_and_keeps_other_devices_entries()
    {
        var g = ConvCases.Get("k3_dil2_s2_pad1").Geometry;
        string key = ConvAutotuneCache.Key(ConvPass.BackwardData, g, tf32: true);
        var timings = new Dictionary<ConvAlgorithm, double> { [ConvAlgorithm.ImplicitGemmTf32] = 0.0625, [ConvAlgorithm.Im2ColGemm] = 0.5 };
        new ConvAutotuneCache(CachePath, "GPU A | driver 13000").Store(key, new(ConvAlgorithm.ImplicitGemmTf32, timings));
        new ConvAutotuneCache(CachePath, "GPU B | driver 13000").Store(key, new(ConvAlgorithm.Im2ColGemm, timings));

        var a = new ConvAutotuneCache(CachePath, "GPU A | driver 13000").Find(key);
        Assert.NotNull(a);
        Assert.Equal(ConvAlgorithm.ImplicitGemmTf32, a.Algorithm);
        Assert.Equal(timings, a.TimingsMilliseconds);
        Assert.Equal(ConvAlgorithm.Im2ColGemm, new ConvAutotuneCache(CachePath, "GPU B | driver 13000").Find(key)!.Algorithm);
        Assert.Null(new ConvAutotuneCache(CachePath, "GPU A | driver 12080").Find(key));          // another driver re-tunes
        Assert.Null(new ConvAutotuneCache(CachePath, "GPU A | driver 13000").Find(ConvAutotuneCache.Key(ConvPass.BackwardData, g, tf32: false)));
        var entries = (JsonNode.Parse(File.ReadAllText(CachePath))!["entries"] as JsonArray)!;
        Assert.Equal(2, entries.Count);
        Assert.Equal(ConvAutotuneCache.Format, JsonNode.Parse(File.ReadAllText(CachePath))!["format"]!.GetValue<string>());
    }

    [Fact]
    public void A_corrupt_cache_file_is_reported_and_replaced()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachePath)!);
        File.WriteAllText(CachePath, "{ not json");
        var cache = new ConvAutotuneCache(CachePath, "GPU A");
        string key = ConvAutotuneCache.Key(ConvPass.Forward, ConvCases.Get("k1x1").Geometry, false);
        Assert.Null(cache.Find(key));
        Assert.Contains("could not be read", cache.LoadProblem);
        cache.Store(key, new(ConvAlgorithm.PointwiseGemm, new Dictionary<ConvAlgorithm, double>()));
        Assert.Equal(ConvAlgorithm.PointwiseGemm, new ConvAutotuneCache(CachePath, "GPU A").Find(key)!.Algorithm);
    }

    [Fact]
    public void An_empty_path_keeps_the_cache_in_memory_and_the_default_path_is_the_users_cache_directory()
    {
        var cache = new ConvAutotuneCache("", "GPU A");
        string key = ConvAutotuneCache.Key(ConvPass.Forward, ConvCases.Get("k1x1").Geometry, false);
        cache.Store(key, new(ConvAlgorithm.PointwiseGemm, new Dictionary<ConvAlgorithm, double>()));
        Assert.Null(cache.Path);
        Assert.Equal(ConvAlgorithm.PointwiseGemm, cache.Find(key)!.Algorithm);
        Assert.EndsWith(Path.Combine("convnet-gpu", "conv-autotune.json"), ConvAutotuneCache.DefaultPath());
    }
}
