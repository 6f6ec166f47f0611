using System.Globalization;
using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

public partial class Model
{
    /// <summary>The "format" of a graph model's architecture JSON.</summary>
    public const string GraphFormat = "convnet.graph";

    /// <summary>
    /// The architecture as JSON, enough to rebuild the model with fresh weights: for a graph, its inputs (name, shape),
    /// every layer's type and hyper-parameters, every call as (layer, input tensor names) in topological order, and
    /// the output tensor names; a <see cref="Sequential"/> writes its own, simpler format.
    /// </summary>
    public virtual JsonObject GetArchitecture()
    {
        var inputs = new JsonArray();
        foreach (var t in _inputs)
            inputs.Add((JsonNode)new JsonObject
            {
                ["name"] = t.Name,
                ["shape"] = t.Shape.Dimensions.ToJsonArray(),
                ["dims"] = new JsonArray(t.Shape.Names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
            });
        var layers = new JsonArray();
        foreach (var l in _layers) layers.Add((JsonNode)l.GetConfig());
        var nodes = new JsonArray();
        foreach (var n in _nodes)
            nodes.Add((JsonNode)new JsonObject
            {
                ["layer"] = n.Owner.Name,
                ["inputs"] = new JsonArray(n.Inputs.Select(t => (JsonNode)JsonValue.Create(t.Name)!).ToArray()),
            });
        return new JsonObject
        {
            ["format"] = GraphFormat,
            ["version"] = 1,
            ["name"] = Name,
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["inputs"] = inputs,
            ["layers"] = layers,
            ["nodes"] = nodes,
            ["outputs"] = new JsonArray(_outputs.Select(t => (JsonNode)JsonValue.Create(t.Name)!).ToArray()),
        };
    }

    // Rebuilds the symbolic graph from the JSON and makes a model of it. Calls may be listed in any order: they are
    // sorted so that every call comes after the calls producing its inputs; a call that never can is on a cycle.
    private static Model GraphFromArchitecture(JsonObject architecture, IBackend backend)
    {
        ulong seed = ulong.Parse(architecture.GetString("seed"), CultureInfo.InvariantCulture);
        string name = architecture.GetOptionalString("name") ?? "model";
        var tensors = new Dictionary<string, SymbolicTensor>(StringComparer.Ordinal);
        var inputs = new List<SymbolicTensor>();
        foreach (var node in architecture.GetArray("inputs"))
        {
            var o = node as JsonObject ?? throw new ConvNetArgumentException("Architecture: an input entry is not an object.");
            var dims = o.GetArray("shape").ToIntArray();
            var names = o["dims"] is JsonArray a ? a.Select(n => n!.GetValue<string>()).ToArray()
                : Enumerable.Range(0, dims.Length).Select(i => "d" + i).ToArray();
            var input = Input(new TensorShape(dims, names), o.GetString("name"));
            if (!tensors.TryAdd(input.Name, input))
                throw new InvalidGraphException($"Architecture: two inputs are named '{input.Name}'.", [input.Name]);
            inputs.Add(input);
        }
        var layers = new Dictionary<string, Layer>(StringComparer.Ordinal);
        foreach (var node in architecture.GetArray("layers"))
        {
            var layer = LayerRegistry.Create(node as JsonObject ?? throw new ConvNetArgumentException("Architecture: a layer entry is not an object."));
            if (!layers.TryAdd(layer.Name, layer))
                throw new InvalidGraphException($"Architecture: two layers are named '{layer.Name}'.", [layer.Name]);
        }
        var calls = architecture.GetArray("nodes").Select((node, i) =>
        {
            var o = node as JsonObject ?? throw new ConvNetArgumentException($"Architecture: node {i} is not an object.");
            string layerName = o.GetString("layer");
            var layer = layers.TryGetValue(layerName, out var l) ? l
                : throw new InvalidGraphException($"Architecture: node {i} calls layer '{layerName}', which is not among the layers.", [layerName]);
            return (Layer: layer, Inputs: o.GetArray("inputs").Select(n => n!.GetValue<string>()).ToArray());
        }).ToList();

        // Each call's output is named after its layer, with "#k" for the layer's k-th call.
        var outputNames = new string[calls.Count];
        var callCount = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < calls.Count; i++)
        {
            int k = callCount[calls[i].Layer] = callCount.GetValueOrDefault(calls[i].Layer) + 1;
            outputNames[i] = k == 1 ? calls[i].Layer.Name : $"{calls[i].Layer.Name}#{k}";
        }
        var producedBy = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < calls.Count; i++) producedBy[outputNames[i]] = i;
        foreach (var (call, i) in calls.Select((c, i) => (c, i)))
            foreach (var input in call.Inputs)
                if (!tensors.ContainsKey(input) && !producedBy.ContainsKey(input))
                    throw new InvalidGraphException($"Architecture: node '{outputNames[i]}' reads tensor '{input}', which no input or node produces.", [outputNames[i], input]);

        var done = new bool[calls.Count];
        for (int made = 0; made < calls.Count;)
        {
            int progress = made;
            for (int i = 0; i < calls.Count; i++)
            {
                if (done[i] || !calls[i].Inputs.All(tensors.ContainsKey)) continue;
                var output = calls[i].Layer.Call(calls[i].Inputs.Select(n => tensors[n]).ToArray());
                tensors[outputNames[i]] = output;
                done[i] = true;
                made++;
            }
            if (made == progress)
            {
                var stuck = Enumerable.Range(0, calls.Count).Where(i => !done[i]).Select(i => outputNames[i]).ToList();
                throw new InvalidGraphException($"Architecture: the graph has a cycle through {string.Join(", ", stuck.Select(s => $"'{s}'"))}.", stuck);
            }
        }
        var outputs = architecture.GetArray("outputs").Select(n => n!.GetValue<string>())
            .Select(n => tensors.TryGetValue(n, out var t) ? t
                : throw new InvalidGraphException($"Architecture: output '{n}' is not an input or a node.", [n])).ToList();
        return new Model(backend, inputs, outputs, seed, name);
    }
}
