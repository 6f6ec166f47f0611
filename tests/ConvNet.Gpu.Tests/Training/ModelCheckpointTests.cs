using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>Model checkpoints: rebuilt from the file alone on another backend instance, with every tensor preserved.</summary>
public sealed class ModelCheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "convnet-ckpt-" + Guid.NewGuid().ToString("N"));

    public ModelCheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AModelSavedOnOneBackendPredictsIdenticallyWhenLoadedOnAnother()
    {
        string path = Path.Combine(_dir, "vgg.ckpt");
        var data = SyntheticData.Squares(6, 3, size: 28);
        Prediction before;
        using (var saving = Backend.Cpu(2))
        using (var model = ConvNet.Gpu.Models.VggSmall(saving, seed: 9))
        {
            // Move the running statistics away from their initial values so that they must be restored too.
            using var x = saving.Allocate(TensorShape.Nchw(6, 1, 28, 28));
            x.Upload(data.Images.Span);
            model.Forward(x, training: true);
            before = model.Predict(data.Images.Span, 6);
            model.Save(path);
        }
        using var loading = Backend.Cpu(1);
        using var loaded = Sequential.Load(path, loading);
        Assert.Same(loading, loaded.Backend);
        Assert.Equal("vgg_small", loaded.Name);
        var after = loaded.Predict(data.Images.Span, 6);
        Assert.Equal(before.Classes, after.Classes);
        for (int i = 0; i < before.Probabilities.Length; i++) Assert.Equal(before.Probabilities[i], after.Probabilities[i], 6);
        Assert.NotEqual(0f, ((BatchNorm2D)loaded.Layers[1]).RunningMean.ToArray().Select(Math.Abs).Max());
    }

    [Fact]
    public void ACorruptCheckpointFailsWithTheContainerError()
    {
        string path = Path.Combine(_dir, "lenet.ckpt");
        using var backend = Backend.Cpu(1);
        using (var model = ConvNet.Gpu.Models.LeNet5Classic(backend)) model.Save(path);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointFormatException>(() => Sequential.Load(path, backend));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
