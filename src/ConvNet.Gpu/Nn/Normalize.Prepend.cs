using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>Putting a <see cref="Normalize"/> layer in front of an existing model.</summary>
public static class NormalizeModels
{
    /// <summary>The name <see cref="Prepend"/> gives the layer when it has none.</summary>
    public const string DefaultLayerName = "input_normalization";

    /// <summary>
    /// A new model on <paramref name="model"/>'s backend: <paramref name="normalize"/> (an unbuilt layer) applied to the
    /// model's input, then the model as it was, with its weights and state copied (matched by layer name and parameter
    /// name). Works for a <see cref="Sequential"/> model and a single-input graph model. <paramref name="model"/> is not
    /// changed and still belongs to the caller; the layer's configuration is copied, so it may be reused.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The model has several inputs, or a layer is already named like the normalization layer.</exception>
    public static Model Prepend(Model model, Normalize normalize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(normalize);
        var config = normalize.GetConfig();
        string name = normalize.Name.Length > 0 ? normalize.Name : DefaultLayerName;
        config["name"] = name;
        var architecture = model.GetArchitecture();
        var layers = (JsonArray)architecture["layers"]!;
        if (layers.OfType<JsonObject>().Any(l => l["name"]?.GetValue<string>() == name))
            throw new ConvNetArgumentException($"Model '{model.Name}' already has a layer named '{name}'; name the Normalize layer otherwise.", nameof(normalize));
        layers.Insert(0, config);
        if (architecture["format"]?.GetValue<string>() == Model.GraphFormat)
        {
            var inputs = (JsonArray)architecture["inputs"]!;
            if (inputs.Count != 1)
                throw new ConvNetArgumentException($"Model '{model.Name}' has {inputs.Count} inputs; a Normalize layer can be put in front of a single-input model only.", nameof(model));
            string input = inputs[0]!["name"]!.GetValue<string>();
            foreach (var node in ((JsonArray)architecture["nodes"]!).OfType<JsonObject>())
            {
                var reads = (JsonArray)node["inputs"]!;
                for (int i = 0; i < reads.Count; i++)
                    if (reads[i]!.GetValue<string>() == input) reads[i] = name;
            }
            ((JsonArray)architecture["nodes"]!).Insert(0, new JsonObject { ["layer"] = name, ["inputs"] = new JsonArray(input) });
        }
        var result = Model.FromArchitecture(architecture, model.Backend);
        try
        {
            Copy(model.NamedParameters.Select(p => (p.Key, p.Parameter.Value)), result.NamedParameters.Select(p => (p.Key, p.Parameter.Value)));
            Copy(model.NamedState.Select(s => (s.Key, s.State.Value)), result.NamedState.Select(s => (s.Key, s.State.Value)));
        }
        catch
        {
            result.Dispose();
            throw;
        }
        return result;
    }

    // Copies tensors between keys "i:layer/..." that differ only in the layer index.
    private static void Copy(IEnumerable<(string Key, Tensor Value)> from, IEnumerable<(string Key, Tensor Value)> to)
    {
        static string Bare(string key) => key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..];
        var source = from.ToDictionary(p => Bare(p.Key), p => p.Value, StringComparer.Ordinal);
        foreach (var (key, value) in to)
        {
            var original = source[Bare(key)];
            value.Upload(original.ToArray());
        }
    }
}
