using ConvNet.Gpu;
using Xunit;

namespace ConvNet.Gpu.Tests.Tensors;

public sealed class TensorTests
{
    [Fact]
    public void UploadDownloadRoundTripsAndViewsShareMemory()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Nchw(2, 1, 2, 3));
        var data = Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray();
        t.Upload(data);
        Assert.Equal(data, t.ToArray());
        var second = t.Slice(1, 1);
        Assert.True(second.IsView);
        Assert.Equal(data[6..], second.ToArray());
        second.Dispose();
        Assert.False(t.IsDisposed);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Slice(0, 1).ToArray());
    }

    [Fact]
    public void ScopeFreesTemporariesButKeepsDetached()
    {
        using var backend = Backend.Cpu();
        Tensor kept, temp;
        using (var scope = new TensorScope())
        {
            temp = backend.Allocate(TensorShape.Vector(4));
            kept = scope.Keep(backend.Allocate(TensorShape.Vector(4)));
        }
        Assert.True(temp.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal(16, backend.GetMemoryStats().BytesInUse);
        kept.Dispose();
        Assert.Equal(0, backend.GetMemoryStats().BytesInUse);
    }
}
