using ConvNet.Gpu.Backends.Cuda.Driver;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// Which cuBLAS is loaded for which driver (<see cref="CublasSelection"/>), over a simulated file system: the names that
/// exist and the version each file reports. A CUDA 12.x driver with a CUDA 13 cuBLAS first on the loader path is the
/// case the GPU review found: cuBLAS 13 loads there, and then cublasCreate_v2 fails.
/// </summary>
public sealed class CublasSelectionTests
{
    private const string Lib64 = "/usr/local/cuda/lib64";

    /// <summary>A loader over <paramref name="files"/> (name or path -> version it reports); records what it probed and released.</summary>
    private sealed class FakeLoader(Dictionary<string, int> files)
    {
        private readonly Dictionary<nint, string> _handles = new();
        public List<string> Probed { get; } = [];
        public List<string> Released { get; } = [];

        public CublasSelection.Probe Probe(string candidate)
        {
            Probed.Add(candidate);
            if (!files.TryGetValue(candidate, out int version)) return new(0, 0, candidate, null);
            nint handle = 0x1000 + _handles.Count;
            _handles[handle] = candidate;
            string file = candidate.StartsWith('/') ? candidate : $"/usr/lib/x86_64-linux-gnu/{candidate}";
            return new(handle, version, file, null);
        }

        public void Release(nint handle) => Released.Add(_handles[handle]);

        public CublasSelection.Choice Select(int driver, int computeCapability = 90) =>
            CublasSelection.Select(driver, computeCapability, [Lib64], Probe, Release);
    }

    private static readonly Dictionary<string, int> Both = new() { ["libcublas.so.13"] = 130100, ["libcublas.so.12"] = 120804 };

    [Fact]
    public void A_CUDA_13_driver_takes_cublas_13()
    {
        var loader = new FakeLoader(Both);
        var choice = loader.Select(13000);
        Assert.True(choice.Loaded);
        Assert.Equal(130100, choice.Version);
        Assert.Equal("/usr/lib/x86_64-linux-gnu/libcublas.so.13", choice.File);
        Assert.Equal("libcublas.so.13 (cuBLAS 13.1.0, /usr/lib/x86_64-linux-gnu/libcublas.so.13): the newest cuBLAS a CUDA 13.0 driver runs", choice.Reason);
        Assert.Equal(["libcublas.so.13"], loader.Probed);
    }

    [Fact]
    public void A_CUDA_12_driver_takes_cublas_12_and_never_loads_cublas_13()
    {
        var loader = new FakeLoader(Both);
        var choice = loader.Select(12080);
        Assert.True(choice.Loaded);
        Assert.Equal(120804, choice.Version);
        Assert.Equal("libcublas.so.12 (cuBLAS 12.8.4, /usr/lib/x86_64-linux-gnu/libcublas.so.12): the newest cuBLAS a CUDA 12.8 driver runs; "
                     + "skipped cuBLAS 13 (needs a CUDA 13 driver; this one supports CUDA 12.8)", choice.Reason);
        Assert.DoesNotContain(loader.Probed, p => p.EndsWith(".so.13", StringComparison.Ordinal));
    }

    [Fact]
    public void A_CUDA_12_driver_with_only_cublas_13_gets_no_cublas_and_the_full_reason()
    {
        var loader = new FakeLoader(new() { ["libcublas.so.13"] = 130100, ["libcublas.so"] = 130100 });
        var choice = loader.Select(12040);
        Assert.False(choice.Loaded);
        Assert.Null(choice.File);
        Assert.Equal(
            "no cuBLAS this driver (CUDA 12.4) can run was found: it needs cuBLAS 12 or 11; tried libcublas.so.12, "
            + $"{Lib64}/libcublas.so.12, libcublas.so.11, {Lib64}/libcublas.so.11, libcublas.so, {Lib64}/libcublas.so; "
            + "skipped cuBLAS 13 (needs a CUDA 13 driver; this one supports CUDA 12.4); "
            + "rejected /usr/lib/x86_64-linux-gnu/libcublas.so: it is cuBLAS 13.1.0, which this driver (CUDA 12.4) cannot run",
            choice.Reason);
        Assert.Equal(["libcublas.so"], loader.Released); // a rejected library is unloaded again
    }

    [Fact]
    public void The_CUDA_lib64_directory_is_searched_after_the_loader_path()
    {
        var loader = new FakeLoader(new() { [$"{Lib64}/libcublas.so.12"] = 120100 });
        var choice = loader.Select(12080);
        Assert.True(choice.Loaded);
        Assert.Equal($"{Lib64}/libcublas.so.12", choice.File);
        Assert.Equal(["libcublas.so.12", $"{Lib64}/libcublas.so.12"], loader.Probed);
    }

    [Fact]
    public void A_file_whose_name_lies_about_its_version_is_rejected_and_an_older_major_taken()
    {
        var loader = new FakeLoader(new() { ["libcublas.so.12"] = 130000, ["libcublas.so.11"] = 110902 });
        var choice = loader.Select(12080);
        Assert.Equal(110902, choice.Version);
        Assert.StartsWith("libcublas.so.11 (cuBLAS 11.9.2, /usr/lib/x86_64-linux-gnu/libcublas.so.11): a cuBLAS a CUDA 12.8 driver runs (no newer usable one was found)", choice.Reason);
        Assert.Contains("rejected /usr/lib/x86_64-linux-gnu/libcublas.so.12: its name says cuBLAS 12 but it reports 13.0.0", choice.Reason);
        Assert.Equal(["libcublas.so.12"], loader.Released);
    }

    [Fact]
    public void The_unversioned_development_name_is_used_only_when_its_version_fits()
    {
        var fits = new FakeLoader(new() { ["libcublas.so"] = 120300 }).Select(12080);
        Assert.True(fits.Loaded);
        Assert.Equal(120300, fits.Version);
        Assert.False(new FakeLoader(new() { ["libcublas.so"] = 130000 }).Select(12080).Loaded);
    }

    [Fact]
    public void CUDA_13_cublas_is_skipped_on_GPUs_below_compute_capability_7_5()
    {
        var choice = new FakeLoader(Both).Select(13000, computeCapability: 70);
        Assert.Equal(120804, choice.Version);
        Assert.Contains("skipped cuBLAS 13 (CUDA 13 dropped compute capability below 7.5; this GPU is 7.0)", choice.Reason);
        Assert.Equal(130100, new FakeLoader(Both).Select(13000, computeCapability: 75).Version);
    }

    [Theory]
    [InlineData(13020, new[] { 13, 12, 11 })]
    [InlineData(12090, new[] { 12, 11 })]
    [InlineData(12000, new[] { 12, 11 })]
    [InlineData(11080, new[] { 11 })]
    [InlineData(10020, new int[0])]
    public void The_usable_majors_are_the_drivers_own_major_and_older(int driver, int[] majors)
    {
        var skipped = new List<string>();
        Assert.Equal(majors, CublasSelection.UsableMajors(driver, 90, skipped));
        Assert.Equal(3 - majors.Length, skipped.Count);
    }
}
