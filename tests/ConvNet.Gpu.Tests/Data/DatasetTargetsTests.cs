using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>Datasets of any sample rank with class-index, float or multi-hot targets, from arrays, tensors and generators.</summary>
public sealed class DatasetTargetsTests
{
    [Fact]
    public void FloatTargetsOfAnyShapeAreKeptAndChecked()
    {
        var x = Enumerable.Range(0, 3 * 4).Select(i => (float)i).ToArray();
        var y = new float[] { 0.5f, -1f, 2f, 3f, 4f, 5f };
        var d = Dataset.FromArrays(x, TensorShape.Of(4), y, TensorShape.Of(2), "regression");
        Assert.Equal(TargetKind.Values, d.TargetKind);
        Assert.False(d.HasLabels);
        Assert.Equal(3, d.Count);
        Assert.Equal(["F"], d.SampleShape.Names);
        Assert.Equal([2], d.TargetShape!.Dimensions);
        Assert.Equal([2f, 3f], d.GetTarget(1).ToArray());
        Assert.Equal(0, d.ClassCount);
        var e = Assert.Throws<InvalidOperationException>(() => d.Labels);
        Assert.Contains("read Targets instead", e.Message);
        Assert.Throws<InvalidOperationException>(() => d.CountPerClass());
        Assert.Contains("with targets (F=2)", d.ToString());

        var bad = (float[])y.Clone();
        bad[3] = float.NaN;
        var nan = Assert.Throws<ConvNetArgumentException>(() => Dataset.FromArrays(x, TensorShape.Of(4), bad, TensorShape.Of(2), "r"));
        Assert.Contains("target value NaN at sample 1", nan.Message);
        var mismatch = Assert.Throws<ShapeMismatchException>(() => Dataset.FromArrays(x, TensorShape.Of(4), new float[8], TensorShape.Of(2), "r"));
        Assert.Contains("4 targets of sample shape (F=4) need 16 image values, got 12", mismatch.Message);
        Assert.Throws<ShapeMismatchException>(() => Dataset.FromArrays(x, TensorShape.Of(4), new float[7], TensorShape.Of(2), "r"));
    }

    [Fact]
    public void MultiHotTargetsAreZeroOrOneVectorsOverTheClasses()
    {
        var x = new float[3 * 2];
        float[] hot = [1, 0, 1, 0, 0, 0, 1, 1, 1];
        var d = Dataset.MultiLabel(x, TensorShape.Of(2), hot, ["cat", "dog", "bird"], "tags");
        Assert.Equal(TargetKind.MultiHot, d.TargetKind);
        Assert.Equal(3, d.ClassCount);
        Assert.Equal([2, 1, 2], d.CountPerClass());
        hot[4] = 0.5f;
        var e = Assert.Throws<ConvNetArgumentException>(() => Dataset.MultiLabel(x, TensorShape.Of(2), hot, ["cat", "dog", "bird"]));
        Assert.Contains("0.5 at sample 1, class 1 is not 0 or 1", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Dataset.MultiLabel(x, TensorShape.Of(2), new float[6], ["cat", "dog", "bird"]));
    }

    [Fact]
    public void AnAutoencoderDatasetTargetsItsOwnInputsWithoutACopy()
    {
        var data = SyntheticImages(5);
        var ae = data.AsAutoencoder();
        Assert.Equal(TargetKind.Values, ae.TargetKind);
        Assert.True(ae.TargetShape!.SameDimensions(data.SampleShape));
        Assert.True(ae.Targets.Span == data.Images.Span); // the same memory
        var direct = Dataset.Autoencoder(data.Images.ToArray(), data.SampleShape);
        Assert.Equal(direct.Images.ToArray(), direct.Targets.ToArray());
    }

    [Fact]
    public void FromTensorsTakesClassIndicesOrFloatTargets()
    {
        using var backend = Backend.Cpu(1);
        using var x = backend.Allocate(TensorShape.Nchw(4, 1, 2, 2));
        x.Upload(Enumerable.Range(0, 16).Select(i => (float)i).ToArray());
        using var labels = backend.Allocate(TensorShape.Vector(4), DataType.Int32);
        labels.Upload([1, 0, 1, 1]);
        var classes = Dataset.FromTensors(x, labels, ["no", "yes"]);
        Assert.Equal([1, 0, 1, 1], classes.Labels.ToArray());
        Assert.Equal(["C", "H", "W"], classes.SampleShape.Names);
        Assert.Equal([4f, 5f, 6f, 7f], classes.GetImage(1).ToArray());

        using var masks = backend.Allocate(TensorShape.Nchw(4, 1, 2, 2));
        masks.Upload(Enumerable.Range(0, 16).Select(i => (float)(i % 2)).ToArray());
        var segmentation = Dataset.FromTensors(x, masks);
        Assert.Equal([1, 2, 2], segmentation.TargetShape!.Dimensions);
        Assert.Equal([0f, 1f, 0f, 1f], segmentation.GetTarget(3).ToArray());

        Assert.Contains("need the class names", Assert.Throws<ConvNetArgumentException>(() => Dataset.FromTensors(x, labels)).Message);
        Assert.Throws<ConvNetArgumentException>(() => Dataset.FromTensors(x, masks, ["a"]));
        using var three = backend.Allocate(TensorShape.Vector(3), DataType.Int32);
        Assert.Contains("4 inputs", Assert.Throws<ShapeMismatchException>(() => Dataset.FromTensors(x, three, ["a"])).Message);
    }

    [Fact]
    public void GeneratorsFillEverySampleByIndex()
    {
        var classes = Dataset.FromGenerator(50, TensorShape.Of(1, 3, 3), ["even", "odd"], (i, input) =>
        {
            input.Fill(i);
            return i % 2;
        });
        Assert.Equal(50, classes.Count);
        for (int i = 0; i < 50; i++)
        {
            Assert.All(classes.GetImage(i).ToArray(), v => Assert.Equal(i, v));
            Assert.Equal(i % 2, classes.Labels.Span[i]);
        }
        var values = Dataset.FromGenerator(20, TensorShape.Of(2), TensorShape.Of(1), (i, input, target) =>
        {
            input[0] = i;
            input[1] = -i;
            target[0] = 2 * i;
        });
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 2f * i), values.Targets.ToArray());
        Assert.Throws<ConvNetArgumentException>(() => Dataset.FromGenerator(0, TensorShape.Of(2), ["a"], (_, _) => 0));
        var bad = Assert.Throws<ConvNetArgumentException>(() => Dataset.FromGenerator(3, TensorShape.Of(2), ["a"], (i, _) => i));
        Assert.Contains("label 1 at sample 1", bad.Message);
    }

    [Fact]
    public void SelectCopiesTheChosenSamplesOfEveryTargetKind()
    {
        var data = SyntheticImages(6);
        var picked = data.Select([4, 1, 4]);
        Assert.Equal(3, picked.Count);
        Assert.Equal(data.GetImage(4).ToArray(), picked.GetImage(0).ToArray());
        Assert.Equal(data.GetImage(1).ToArray(), picked.GetImage(1).ToArray());
        Assert.Equal([data.Labels.Span[4], data.Labels.Span[1], data.Labels.Span[4]], picked.Labels.ToArray());
        var ae = data.AsAutoencoder().Select([5]);
        Assert.Equal(data.GetImage(5).ToArray(), ae.GetTarget(0).ToArray());
        var e = Assert.Throws<ConvNetArgumentException>(() => data.Select([0, 6]));
        Assert.Contains("index 6 at position 1", e.Message);
    }

    internal static Dataset SyntheticImages(int count, int classes = 3, int channels = 1, int size = 4)
    {
        var r = new ConvNet.Gpu.Initializers.HostRandom(7);
        int sample = channels * size * size;
        var x = new float[count * sample];
        for (int i = 0; i < x.Length; i++) x[i] = r.NextUniform(0, 1);
        var labels = Enumerable.Range(0, count).Select(i => i % classes).ToArray();
        return new Dataset(x, labels, TensorShape.Of(channels, size, size), Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray(), "synthetic");
    }
}
