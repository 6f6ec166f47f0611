using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Onnx.Import;
using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;
using Xunit;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// Files the importer must refuse, each with a typed error that says where and why, before anything is built:
/// truncated or non-ONNX files, opsets outside 13-21, unsupported ops and attributes, dynamic shapes, external data.
/// Most are made by editing a PyTorch fixture with our own schema classes; two come from PyTorch itself.
/// </summary>
public sealed class OnnxBadFileTests
{
    private static ImportedGraph Read(byte[] bytes, OnnxImportOptions? options = null) => OnnxImporter.Read(bytes, "test.onnx", options);

    private static byte[] Edit(string fixture, Action<ModelProto> edit)
    {
        var model = ModelProto.Parser.ParseFrom(OnnxFixtures.Model(fixture));
        edit(model);
        return model.ToByteArray();
    }

    [Fact]
    public void ATruncatedFileIsAFormatErrorWhereverItIsCut()
    {
        var bytes = OnnxFixtures.Model("lenet5");
        // Every 997th cut point (covering the header, node list and raw weight data) and the last byte.
        var cuts = Enumerable.Range(0, bytes.Length / 997).Select(i => i * 997).Append(bytes.Length - 1);
        foreach (int cut in cuts)
        {
            var e = Assert.Throws<OnnxFormatException>(() => Read(bytes[..cut]));
            Assert.StartsWith("test.onnx: ", e.Message);
        }
        Assert.Contains("cut short", Assert.Throws<OnnxFormatException>(() => Read(bytes[..(bytes.Length / 2)])).Message);
        Assert.Contains("empty", Assert.Throws<OnnxFormatException>(() => Read([])).Message);
    }

    [Fact]
    public void AFileCutExactlyBeforeItsOpsetIsAFormatError()
    {
        // Serialize without opset_import: what a cut at the field boundary after the graph leaves.
        var bytes = Edit("lenet5", m => m.OpsetImport.Clear());
        var e = Assert.Throws<OnnxFormatException>(() => Read(bytes));
        Assert.Contains("imports no version of the standard operator set", e.Message);
    }

    [Fact]
    public void SomethingElseThanOnnxIsAFormatError()
    {
        Assert.Throws<OnnxFormatException>(() => Read("not an onnx file at all\n"u8.ToArray()));
        var random = new byte[4096];
        new Random(3).NextBytes(random);
        Assert.Throws<OnnxFormatException>(() => Read(random));
    }

    [Theory]
    [InlineData(9)]
    [InlineData(12)]
    [InlineData(22)]
    public void AnOpsetOutsideTheSupportedRangeIsRefused(long opset)
    {
        var bytes = Edit("lenet5", m => m.OpsetImport[0].Version = opset);
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes));
        Assert.Contains($"opset {opset}", e.Message);
        Assert.Contains("13 to 21", e.Message);
    }

    [Fact]
    public void AnUnsupportedOpNamesTheNodeAndTheOp()
    {
        var bytes = Edit("lenet5", m => m.Graph.Node.First(n => n.OpType == "Relu").OpType = "Gelu");
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes));
        Assert.Equal("Gelu", e.OpType);
        Assert.Equal("/Relu", e.Node);
        Assert.Null(e.Attribute);
        Assert.Contains("node '/Relu' (Gelu)", e.Message);
        Assert.Contains("Supported ops:", e.Message);
    }

    [Fact]
    public void PyTorchsGeluIsRefusedAtItsFirstUnsupportedNode()
    {
        // opset 17 writes GELU as x * 0.5 * (1 + erf(x / sqrt 2)): x / sqrt 2 imports (a division by a positive constant
        // is a Normalize layer), so Erf is the first node refused.
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(OnnxFixtures.Model("bad_unsupported_op")));
        Assert.Equal("Erf", e.OpType);
        Assert.StartsWith("/1/", e.Node, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnsupportedAttributeNamesTheNodeTheOpAndTheAttribute()
    {
        var bytes = Edit("lenet5", m => m.Graph.Node.First(n => n.OpType == "MaxPool").Attribute.Add(
            new AttributeProto { Name = "dilations", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } }));
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes));
        Assert.Equal(("/MaxPool", "MaxPool", "dilations"), (e.Node, e.OpType, e.Attribute));

        var unknown = Edit("lenet5", m => m.Graph.Node.First(n => n.OpType == "Conv").Attribute.Add(
            new AttributeProto { Name = "fancy", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        var u = Assert.Throws<OnnxUnsupportedException>(() => Read(unknown));
        Assert.Equal(("/conv1/Conv", "Conv", "fancy"), (u.Node, u.OpType, u.Attribute));
        Assert.Contains("attribute 'fancy'", u.Message);
    }

    [Fact]
    public void ADynamicBatchIsRefusedUnlessAllowed()
    {
        var bytes = OnnxFixtures.Model("bad_dynamic_batch");
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes));
        Assert.Contains("graph input 'input' has a dynamic ('batch') batch dimension", e.Message);
        Assert.Contains("AllowDynamicBatch", e.Message);

        var g = Read(bytes, new OnnxImportOptions { AllowDynamicBatch = true });
        Assert.Equal(ConvNet.Gpu.Nn.Shapes.Image(1, 6, 6), g.Inputs.Single().Sample);
    }

    [Fact]
    public void ADynamicSampleDimensionIsRefusedEvenWithADynamicBatch()
    {
        var bytes = Edit("lenet5", m => m.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimParam = "height");
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes, new OnnxImportOptions { AllowDynamicBatch = true }));
        Assert.Contains("dimension 2 is dynamic ('height')", e.Message);
    }

    [Fact]
    public void WeightsInAnExternalFileAreRefused()
    {
        var bytes = Edit("lenet5", m =>
        {
            var w = m.Graph.Initializer.First(t => t.Name == "conv1.weight");
            w.ClearRawData();
            w.DataLocation = TensorProto.Types.DataLocation.External;
            w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        });
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes));
        Assert.Contains("tensor 'conv1.weight' keeps its data in an external file", e.Message);
    }

    [Fact]
    public void WeightDataThatDoesNotMatchItsDimsIsAFormatError()
    {
        var bytes = Edit("lenet5", m =>
        {
            var w = m.Graph.Initializer.First(t => t.Name == "fc1.bias");
            w.RawData = ByteString.CopyFrom(w.RawData.Span[..^4]);
        });
        var e = Assert.Throws<OnnxFormatException>(() => Read(bytes));
        Assert.Contains("tensor 'fc1.bias' with dims [120] needs 480 bytes of raw_data, found 476", e.Message);
    }

    [Fact]
    public void ANodeReadingAnUndefinedValueIsAFormatError()
    {
        var bytes = Edit("lenet5", m => m.Graph.Node.First(n => n.OpType == "Flatten").Input[0] = "nowhere");
        var e = Assert.Throws<OnnxFormatException>(() => Read(bytes));
        Assert.Contains("reads 'nowhere', which no graph input, initializer or earlier node produces", e.Message);
    }

    [Fact]
    public void AnIntegerInputIsRefused()
    {
        var bytes = Edit("lenet5", m => m.Graph.Input[0].Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Int64);
        Assert.Contains("element type INT64", Assert.Throws<OnnxUnsupportedException>(() => Read(bytes)).Message);
    }

    [Fact]
    public void PoolingWhoseCeilModeSizeHasNoEquivalentIsRefused()
    {
        // x = 5, k = 2, s = 2, p = 1, ceil: ONNX's formula gives 4 windows, PyTorch's rule (ours) 3.
        var bytes = Edit("bad_dynamic_batch", m =>
        {
            m.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue = 1;
            m.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimValue = 5;
            m.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimValue = 5;
            m.Graph.Output[0].Type.TensorType.Shape.Dim.Clear();
            var relu = m.Graph.Node[1];
            relu.OpType = "MaxPool";
            relu.Input[0] = "input";
            relu.Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } });
            relu.Attribute.Add(new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } });
            relu.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
            relu.Attribute.Add(new AttributeProto { Name = "ceil_mode", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        });
        var e = Assert.Throws<OnnxUnsupportedException>(() => Read(bytes));
        Assert.Equal(("MaxPool", "ceil_mode"), (e.OpType, e.Attribute));
    }
}
