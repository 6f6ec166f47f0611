using System.Text.Json.Nodes;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Tests.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Checkpoints;

/// <summary>
/// Building a model from a checkpoint checks each saved tensor's shape before it is allocated, so what a crafted
/// architecture can make the loader allocate is bounded by what the file holds (the bug: a 745 KB file declaring a
/// Dense of 4,000,000 units ran for 34 s and reached 6.5 GB before failing with an overflow).
/// </summary>
public sealed class SavedCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string SaveLeNet()
    {
        string path = _dir.File("lenet5.ckpt");
        using var cpu = Backend.Cpu(1);
        using var model = ConvNet.Gpu.Models.LeNet5(cpu);
        model.Save(path);
        return path;
    }

    [Fact]
    public void A_crafted_huge_layer_fails_before_anything_is_allocated()
    {
        CheckpointContent content = CheckpointFile.Read(SaveLeNet());
        var architecture = JsonNode.Parse(content.Metadata["architecture"])!.AsObject();
        architecture["layers"]!.AsArray().Single(l => l!["name"]!.GetValue<string>() == "fc1")!["units"] = 4_000_000;
        content.Metadata["architecture"] = architecture.ToJsonString();
        string crafted = _dir.File("crafted.ckpt");
        CheckpointFile.Write(crafted, content);
        long fileBytes = new FileInfo(crafted).Length;
        using var backend = Backend.Cpu(1);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var saved = SavedCheckpoint.Read(crafted);
        var e = Assert.Throws<CheckpointFormatException>(() => saved.LoadModel(backend));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("layer 'fc1' (Dense) would create parameter 'weight' of dimensions [4000000, 400]", e.Message);
        Assert.Contains("'7:fc1/weight' with dimensions [120, 400]", e.Message);
        // Only the layers before fc1 were built (each parameter with its gradient), and they were freed again.
        long tensorBytes = content.Tensors.Values.Sum(t => (long)t.Data.Length * sizeof(float));
        Assert.InRange(backend.GetMemoryStats().PeakBytesInUse, 1, 2 * tensorBytes);
        Assert.Equal(0, backend.GetMemoryStats().BytesInUse);
        Assert.True(allocated < 4 * fileBytes + (4 << 20), $"allocated {allocated:N0} bytes on the host for a {fileBytes:N0}-byte file");
    }

    [Fact]
    public void Loading_a_model_allocates_on_the_backend_only_what_the_file_holds()
    {
        string path = SaveLeNet();
        var saved = SavedCheckpoint.Read(path);
        long tensorBytes = CheckpointFile.Read(path).Tensors.Values.Sum(t => (long)t.Data.Length * sizeof(float));
        using var backend = Backend.Cpu(1);

        using var model = saved.LoadModel(backend);

        // Exactly what is stored, and nothing else at load time (gradients are allocated when first used, in training).
        Assert.Equal(tensorBytes, backend.GetMemoryStats().PeakBytesInUse);
        Assert.Equal(61_706, model.TrainableParameterCount);
    }
}
