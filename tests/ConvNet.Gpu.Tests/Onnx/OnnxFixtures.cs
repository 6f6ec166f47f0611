using System.Globalization;
using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>The PyTorch-exported fixtures (Onnx/Fixtures, made by make_fixtures.py) and their reference inputs and outputs.</summary>
public static class OnnxFixtures
{
    /// <summary>The fixture directory next to the test assembly.</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Onnx", "Fixtures");

    /// <summary>The path of fixture <paramref name="name"/> (e.g. "lenet5.onnx").</summary>
    public static string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>The bytes of <paramref name="name"/>.onnx.</summary>
    public static byte[] Model(string name) => File.ReadAllBytes(PathOf(name + ".onnx"));

    /// <summary>The reference of <paramref name="name"/>: PyTorch's input batch and its output, with their shapes.</summary>
    public static Reference ReferenceOf(string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(PathOf(name + ".json")))!.AsObject();
        static int[] Ints(JsonNode n) => n.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        static float[] Floats(JsonNode n) => n.AsArray().Select(v => float.Parse(v!.GetValue<string>(), CultureInfo.InvariantCulture)).ToArray();
        return new Reference(Ints(json["input_shape"]!), Floats(json["input"]!), Ints(json["output_shape"]!), Floats(json["output"]!), json);
    }

    /// <summary>A fixture's reference data; <see cref="Json"/> holds the extra fields (e.g. normalization).</summary>
    public sealed record Reference(int[] InputShape, float[] Input, int[] OutputShape, float[] Output, JsonObject Json)
    {
        public int Batch => InputShape[0];
    }
}
