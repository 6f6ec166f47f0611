using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// Graph capture and the activity counters at the backend level (emulated device): a captured sequence of ops replays to
/// the bits of the same ops run eagerly, is counted as one graph launch, and the backend refuses by name whatever a
/// capture cannot hold (allocation, freeing, blocking copies, synchronization), staying usable afterwards.
/// </summary>
public sealed class CudaGraphCaptureTests : IDisposable
{
    private readonly CudaBackend _cuda = CudaTestBackends.CreateEmulated(CudaTestBackends.EmulatedOptions with { UseMemoryPool = true });
    private readonly TestRng _rng = new();

    public void Dispose() => _cuda.Dispose();

    private Tensor Random(TensorShape shape)
    {
        var t = _cuda.Allocate(shape);
        t.Upload(_rng.Uniform(shape.ElementCount));
        return t;
    }

    private void Ops(Tensor x, Tensor w, Tensor y, Tensor z)
    {
        _cuda.Gemm(false, true, 8, 5, 12, 1f, x, w, 0f, y);        // y (8x5) = x (8x12) w^T
        _cuda.ActivationForward(ActivationKind.Tanh, 0f, y, z);
        _cuda.Axpy(0.5f, y, z);
    }

    [Fact]
    public void A_captured_sequence_replays_to_the_bits_of_the_eager_run_and_counts_as_one_graph_launch()
    {
        using var x = Random(TensorShape.Matrix(8, 12));
        using var w = Random(TensorShape.Matrix(5, 12));
        using var y = _cuda.Allocate(TensorShape.Matrix(8, 5));
        using var z = _cuda.Allocate(TensorShape.Matrix(8, 5));
        var before = _cuda.Counters;
        Ops(x, w, y, z);
        var eager = _cuda.Counters - before;
        Assert.Equal(new CudaCounters(2, 1, 0, 0, 0, 0, 0, 0, 0), eager);
        var expected = z.ToArray();

        _cuda.Fill(z, float.NaN);
        before = _cuda.Counters;
        using var graph = _cuda.CaptureGraph("the test ops", () => Ops(x, w, y, z));
        Assert.Equal(default, _cuda.Counters - before); // recording runs nothing
        Assert.Equal(3, graph.NodeCount);
        Assert.All(z.ToArray(), v => Assert.True(float.IsNaN(v)));

        before = _cuda.Counters;
        _cuda.LaunchGraph(graph);
        _cuda.LaunchGraph(graph);
        Assert.Equal(new CudaCounters(0, 0, 0, 0, 0, 0, 0, 2, 6), _cuda.Counters - before);
        TensorAssert.Equal(z.ToArray(), expected, z.Shape, "replayed vs eager");
    }

    [Fact]
    public void Allocating_during_a_capture_is_refused_by_name_and_the_backend_stays_usable()
    {
        using var x = Random(TensorShape.Vector(16));
        var e = Assert.Throws<InvalidOperationException>(() => _cuda.CaptureGraph("a step", () =>
        {
            _cuda.Scale(x, 2f, x);
            using var fresh = _cuda.Allocate(TensorShape.Vector(1000));
        }));
        Assert.Contains("CUDA graph capture of a step", e.Message);
        Assert.Contains("allocating 4,000 bytes", e.Message);
        Assert.False(_cuda.IsCapturing);

        // Nothing of the abandoned capture ran, and everything works again.
        var host = x.ToArray();
        _cuda.Scale(x, 2f, x);
        TensorAssert.Equal(x.ToArray(), host.Select(v => 2f * v).ToArray(), x.Shape, "after the failed capture");
        using var after = _cuda.Allocate(TensorShape.Vector(1000));
    }

    [Fact]
    public void Freeing_uploading_downloading_and_synchronizing_during_a_capture_are_refused()
    {
        using var x = Random(TensorShape.Vector(16));
        var held = _cuda.Allocate(TensorShape.Vector(8));
        var free = Assert.Throws<InvalidOperationException>(() => _cuda.CaptureGraph("frees", held.Dispose));
        Assert.Contains("cannot be rented or returned", free.Message);
        var upload = Assert.Throws<InvalidOperationException>(() => _cuda.CaptureGraph("uploads", () => x.Upload(new float[16])));
        Assert.Contains("Upload", upload.Message);
        var download = Assert.Throws<InvalidOperationException>(() => _cuda.CaptureGraph("downloads", () => x.ToArray()));
        Assert.Contains("Download", download.Message);
        var sync = Assert.Throws<InvalidOperationException>(() => _cuda.CaptureGraph("syncs", _cuda.Synchronize));
        Assert.Contains("Synchronize", sync.Message);
        Assert.Equal(16, x.ToArray().Length);
    }

    [Fact]
    public void Counters_count_blocking_copies_as_host_waits()
    {
        using var x = _cuda.Allocate(TensorShape.Vector(4));
        var before = _cuda.Counters;
        x.Upload([1f, 2f, 3f, 4f]);
        _ = x.ToArray();
        _cuda.Synchronize();
        var d = _cuda.Counters - before;
        Assert.Equal((1L, 1L, 3L), (d.HostToDeviceCopies, d.DeviceToHostCopies, d.HostWaits));
        Assert.Equal(0, d.Launches);
    }
}
