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

    [Fact]
    public void AllocateIsZeroFilledAndCountsBytes()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Nchw(2, 3, 4, 5));
        Assert.All(t.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(120, t.ElementCount);
        Assert.Equal(480, t.ByteCount);
        Assert.Equal(4, t.Rank);
        Assert.False(t.IsView);
        var stats = backend.GetMemoryStats();
        Assert.Equal(480, stats.BytesInUse);
        Assert.Equal(1, stats.LiveAllocations);
    }

    [Fact]
    public void MemoryStatsTrackPeakAndRelease()
    {
        using var backend = Backend.Cpu();
        var a = backend.Allocate(TensorShape.Vector(100));
        var b = backend.Allocate(TensorShape.Vector(50));
        a.Dispose();
        a.Dispose(); // idempotent
        var stats = backend.GetMemoryStats();
        Assert.Equal(200, stats.BytesInUse);
        Assert.Equal(600, stats.PeakBytesInUse);
        Assert.Equal(1, stats.LiveAllocations);
        b.Dispose();
        Assert.Equal(0, backend.GetMemoryStats().BytesInUse);
    }

    [Fact]
    public void ViewsReadAndWriteTheOwnersElements()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Matrix(3, 4));
        var data = Enumerable.Range(1, 12).Select(i => (float)i).ToArray();
        t.Upload(data);
        var view = t.View(TensorShape.Of(2, 3), 5);
        Assert.True(view.IsView);
        Assert.Equal(5, view.Offset);
        Assert.Equal(data[5..11], view.ToArray());
        view.Upload(new float[] { -1, -2, -3, -4, -5, -6 });
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, -1, -2, -3, -4, -5, -6, 12 }, t.ToArray());
        var nested = view.Slice(1, 1); // second row of the view = owner elements 8..10
        Assert.Equal(8, nested.Offset);
        Assert.Equal(new float[] { -4, -5, -6 }, nested.ToArray());
    }

    [Fact]
    public void ReshapeKeepsElementsAndRejectsOtherCounts()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Nchw(2, 3, 2, 2));
        var flat = t.Reshape(TensorShape.Matrix(2, 12));
        Assert.True(flat.IsView);
        Assert.True(flat.Shape.SameDimensions(TensorShape.Of(2, 12)));
        var e = Assert.Throws<ShapeMismatchException>(() => t.Reshape(TensorShape.Matrix(5, 5)));
        Assert.Contains("24 elements", e.Message);
        Assert.Contains("25 elements", e.Message);
    }

    [Fact]
    public void ViewsAndSlicesOutsideTheTensorAreRejected()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Nchw(4, 1, 2, 2));
        var e = Assert.Throws<ShapeMismatchException>(() => t.View(TensorShape.Vector(10), 8));
        Assert.Contains("offset 8", e.Message);
        Assert.Throws<ShapeMismatchException>(() => t.View(TensorShape.Vector(2), -1));
        var s = Assert.Throws<ShapeMismatchException>(() => t.Slice(3, 2));
        Assert.Contains("[3, 5)", s.Message);
        Assert.Contains("N=4", s.Message);
        Assert.Throws<ShapeMismatchException>(() => t.Slice(0, 0));
        Assert.Throws<ShapeMismatchException>(() => t.Slice(-1, 1));
        Assert.True(t.Slice(3, 1).Shape.SameDimensions(TensorShape.Nchw(1, 1, 2, 2)));
    }

    [Fact]
    public void DisposingAViewLeavesTheOwnerAndDisposingTheOwnerKillsItsViews()
    {
        using var backend = Backend.Cpu();
        var owner = backend.Allocate(TensorShape.Vector(8));
        var v1 = owner.View(TensorShape.Vector(4));
        var v2 = owner.View(TensorShape.Vector(4), 4);
        v1.Dispose();
        Assert.True(v1.IsDisposed);
        Assert.False(owner.IsDisposed);
        Assert.Equal(32, backend.GetMemoryStats().BytesInUse);
        Assert.Throws<ObjectDisposedException>(() => v1.ToArray());
        owner.Dispose();
        Assert.True(v2.IsDisposed);
        var e = Assert.Throws<ObjectDisposedException>(() => v2.ToArray());
        Assert.Contains("view", e.Message);
        Assert.Equal(0, backend.GetMemoryStats().BytesInUse);
    }

    [Fact]
    public void Int32TensorsRoundTripAndRefuseFloats()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Vector(5), DataType.Int32);
        int[] labels = [3, -1, int.MaxValue, 0, int.MinValue];
        t.Upload(labels);
        Assert.Equal(labels, t.ToInt32Array());
        Assert.Equal(DataType.Int32, t.DataType);
        Assert.Throws<ShapeMismatchException>(() => t.ToArray());
        Assert.Throws<ShapeMismatchException>(() => t.Upload(new float[5]));
    }

    [Fact]
    public void UploadAndDownloadDemandExactLengths()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Vector(4));
        Assert.Contains("3 floats", Assert.Throws<ShapeMismatchException>(() => t.Upload(new float[3])).Message);
        Assert.Contains("5 floats", Assert.Throws<ShapeMismatchException>(() => t.Download(new float[5])).Message);
    }

    [Fact]
    public void ToStringNamesShapeTypeBackendAndViewness()
    {
        using var backend = Backend.Cpu();
        using var t = backend.Allocate(TensorShape.Nchw(64, 1, 28, 28));
        Assert.Equal("Tensor(N=64, C=1, H=28, W=28) Float32 on CPU", t.ToString());
        Assert.EndsWith("(view)", t.Slice(0, 1).ToString());
    }

    [Fact]
    public void NestedScopesFreeOnlyTheirOwnOwnersAndIgnoreViews()
    {
        using var backend = Backend.Cpu();
        Tensor outerTemp, innerTemp, view;
        using (var outer = new TensorScope())
        {
            outerTemp = backend.Allocate(TensorShape.Vector(2));
            using (var inner = new TensorScope())
            {
                innerTemp = backend.Allocate(TensorShape.Vector(2));
                view = outerTemp.View(TensorShape.Vector(1));
                Assert.Equal(1, inner.Count); // views are not tracked
            }
            Assert.True(innerTemp.IsDisposed);
            Assert.False(outerTemp.IsDisposed);
            Assert.False(view.IsDisposed);
            Assert.Equal(1, outer.Count);
            var afterInner = backend.Allocate(TensorShape.Vector(2)); // tracked by the restored outer scope
            Assert.Equal(2, outer.Count);
        }
        Assert.True(outerTemp.IsDisposed);
        Assert.True(view.IsDisposed);
        Assert.Equal(0, backend.GetMemoryStats().BytesInUse);
    }

    [Fact]
    public void ScopesAreThreadLocal()
    {
        using var backend = Backend.Cpu();
        Tensor? other = null;
        using (var scope = new TensorScope())
        {
            var thread = new Thread(() => other = backend.Allocate(TensorShape.Vector(3)));
            thread.Start();
            thread.Join();
            Assert.Equal(0, scope.Count);
        }
        Assert.NotNull(other);
        Assert.False(other.IsDisposed);
        other.Dispose();
    }

    [Fact]
    public void ShapesHaveRank1To4AndPositiveDimensions()
    {
        Assert.Contains("rank 1 to 4", Assert.Throws<ShapeMismatchException>(() => TensorShape.Of(1, 2, 3, 4, 5)).Message);
        Assert.Throws<ShapeMismatchException>(() => TensorShape.Of());
        var e = Assert.Throws<ShapeMismatchException>(() => TensorShape.Nchw(2, 0, 3, 3));
        Assert.Contains("C must be at least 1, got 0", e.Message);
        Assert.Throws<ShapeMismatchException>(() => new TensorShape([2, 3], ["a"]));
    }

    [Fact]
    public void ShapeAccessorsAndEquality()
    {
        var s = TensorShape.Nchw(2, 3, 4, 5);
        Assert.Equal(120, s.ElementCount);
        Assert.Equal(60, s.ElementsFrom(1));
        Assert.Equal(20, s.ElementsFrom(2));
        Assert.Equal(1, s.ElementsFrom(4));
        Assert.Equal("H", s.NameOf(2));
        Assert.Equal([2, 3, 4, 5], s.Dimensions);
        Assert.Equal("(N=2, C=3, H=4, W=5)", s.ToString());
        Assert.Equal(TensorShape.Nchw(7, 3, 4, 5), s.WithFirst(7));
        Assert.Equal(TensorShape.Nchw(2, 3, 4, 5), s);
        Assert.Equal(s.GetHashCode(), TensorShape.Of(2, 3, 4, 5).GetHashCode());
        Assert.True(s.SameDimensions(TensorShape.Of(2, 3, 4, 5)));
        Assert.NotEqual(s, TensorShape.Of(2, 3, 4, 5)); // names differ
        Assert.False(s.SameDimensions(TensorShape.Of(2, 3, 5, 4)));
        Assert.Equal("(rows=3, cols=4)", TensorShape.Matrix(3, 4).ToString());
        Assert.Equal("(len=9)", TensorShape.Vector(9).ToString());
    }
}
