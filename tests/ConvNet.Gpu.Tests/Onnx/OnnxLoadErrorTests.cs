using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// The bad files of the issue through the public entry point, <c>OnnxModel.Load(path, backend)</c>: a truncated file,
/// a wrong opset, an unsupported op, an unsupported attribute and a dynamic batch dimension each throw their typed
/// exception, naming the node, op and attribute where one is at fault, and nothing is allocated on the backend.
/// (OnnxBadFileTests covers the parser's cases one by one.)
/// </summary>
public sealed class OnnxLoadErrorTests : IDisposable
{
    private readonly IBackend _backend = Backend.Cpu();
    private readonly string _dir = Directory.CreateTempSubdirectory("convnet-onnx-bad-").FullName;

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] EditLeNet(Action<ModelProto> edit)
    {
        var model = ModelProto.Parser.ParseFrom(OnnxFixtures.Model("lenet5"));
        edit(model);
        return model.ToByteArray();
    }

    // Load must throw T, and must not have allocated anything on the backend when it does.
    private T Refused<T>(string path, OnnxImportOptions? options = null) where T : Exception
    {
        var before = _backend.GetMemoryStats();
        var e = Assert.Throws<T>(() => OnnxModel.Load(path, _backend, options).Dispose());
        var after = _backend.GetMemoryStats();
        Assert.Equal(before.PeakBytesInUse, after.PeakBytesInUse);
        Assert.Equal(before.LiveAllocations, after.LiveAllocations);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    [Fact]
    public void ATruncatedFileIsAFormatError()
    {
        var bytes = OnnxFixtures.Model("lenet5");
        var e = Refused<OnnxFormatException>(Write("truncated.onnx", bytes[..(bytes.Length * 2 / 3)]));
        Assert.Contains("cut short", e.Problem);
    }

    [Fact]
    public void AWrongOpsetIsUnsupportedAndSaysWhichOpsetsAreRead()
    {
        var e = Refused<OnnxUnsupportedException>(Write("opset11.onnx", EditLeNet(m => m.OpsetImport[0].Version = 11)));
        Assert.Contains("opset 11", e.Message);
        Assert.Contains("13 to 21", e.Message);
        Assert.Null(e.Node);
    }

    [Fact]
    public void AnUnsupportedOpNamesTheNodeAndTheOp()
    {
        var e = Refused<OnnxUnsupportedException>(Write("gelu.onnx", EditLeNet(m => m.Graph.Node.First(n => n.OpType == "Relu").OpType = "Gelu")));
        Assert.Equal(("/Relu", "Gelu", null), (e.Node, e.OpType, e.Attribute));
        Assert.Contains("node '/Relu' (Gelu)", e.Message);
    }

    [Fact]
    public void AnUnsupportedAttributeNamesTheNodeTheOpAndTheAttribute()
    {
        var path = Write("pool-dilation.onnx", EditLeNet(m => m.Graph.Node.First(n => n.OpType == "MaxPool").Attribute.Add(
            new AttributeProto { Name = "dilations", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } })));
        var e = Refused<OnnxUnsupportedException>(path);
        Assert.Equal(("/MaxPool", "MaxPool", "dilations"), (e.Node, e.OpType, e.Attribute));
        Assert.Contains("node '/MaxPool' (MaxPool), attribute 'dilations'", e.Message);
    }

    [Fact]
    public void ADynamicBatchDimensionIsUnsupportedUnlessAllowed()
    {
        var path = OnnxFixtures.PathOf("bad_dynamic_batch.onnx");
        var e = Refused<OnnxUnsupportedException>(path);
        Assert.Contains("graph input 'input' has a dynamic ('batch') batch dimension", e.Message);
        using var model = OnnxModel.Load(path, _backend, new OnnxImportOptions { AllowDynamicBatch = true });
        Assert.Equal(ConvNet.Gpu.Nn.Shapes.Image(1, 6, 6), model.InputShape);
    }

    [Fact]
    public void AMissingFileIsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(Path.Combine(_dir, "none.onnx"), _backend));
}
