using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Protos;

namespace ConvNet.Gpu.Onnx.Export;

/// <summary>
/// Writes a model's graph: its inputs, each layer call in dependency order (Add and Concat as ONNX Add/Sum and
/// Concat along the channels, every other layer through <see cref="LayerExport"/>), and its outputs.
/// </summary>
internal static class ModelExport
{
    public static GraphProto Write(Model model, OnnxExportOptions o)
    {
        var w = new OnnxGraphWriter(o.DynamicBatch ? new OnnxGraphWriter.Dim(0, "N") : new OnnxGraphWriter.Dim(o.BatchSize, null));
        // Graph input and output names: the options' for a single one, else the model's input names and
        // OutputName_1, OutputName_2, ... Reserved first, so a layer named alike gets a suffixed value name instead.
        string[] inputNames = model.Inputs.Count == 1 ? [o.InputName] : model.Inputs.Select(t => t.Name).ToArray();
        string[] outputNames = model.Outputs.Count == 1 ? [o.OutputName] : model.Outputs.Select((_, i) => $"{o.OutputName}_{i + 1}").ToArray();
        foreach (string name in inputNames.Concat(outputNames))
            if (w.Unique(name) != name)
                throw new OnnxExportException(null, null, $"the graph's input and output names must be distinct; '{name}' is used twice.");

        var values = new Dictionary<SymbolicTensor, string>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < model.Inputs.Count; i++) values[model.Inputs[i]] = inputNames[i];
        foreach (var node in Order(model))
        {
            var inputs = node.Inputs.Select(t => values[t]).ToList();
            var layer = node.Runner ?? node.Owner;
            string output = layer switch
            {
                // ONNX's Add takes two operands; Sum adds any number in one node.
                Nn.Add => w.Node(inputs.Count == 2 ? "Add" : "Sum", node.Name, inputs),
                Concat => w.Node("Concat", node.Name, inputs, OnnxGraphWriter.Int("axis", 1)),
                _ => LayerExport.Export(layer, node.Name, inputs.Single(), w),
            };
            if (layer is MergeLayer) w.ValueInfo(output, node.Output.Shape);
            values[node.Output] = output;
        }

        w.Graph.Name = model.Name;
        for (int i = 0; i < model.Inputs.Count; i++) w.Graph.Input.Add(w.Typed(inputNames[i], model.Inputs[i].Shape));
        var named = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < model.Outputs.Count; i++)
        {
            string last = values[model.Outputs[i]];
            // An output that is a graph input, or that another output already named, goes through an Identity.
            if (inputNames.Contains(last) || !named.Add(last)) last = w.Node("Identity", outputNames[i] + "_identity", [last]);
            w.RenameValue(last, outputNames[i]);
            foreach (var v in w.Graph.ValueInfo.Where(v => v.Name == outputNames[i]).ToList()) w.Graph.ValueInfo.Remove(v);
            w.Graph.Output.Add(w.Typed(outputNames[i], model.Outputs[i].Shape));
        }
        return w.Graph;
    }

    // The layer calls the outputs depend on, each after the calls producing its inputs: depth first from the outputs,
    // inputs in order, so the order is deterministic (and a Sequential's own order).
    private static List<GraphNode> Order(Model model)
    {
        var order = new List<GraphNode>();
        var done = new HashSet<GraphNode>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(GraphNode Node, bool Ready)>();
        foreach (var output in model.Outputs.Reverse())
            if (output.Producer is { } p) stack.Push((p, false));
        while (stack.Count > 0)
        {
            var (node, ready) = stack.Pop();
            if (done.Contains(node)) continue;
            if (ready)
            {
                done.Add(node);
                order.Add(node);
                continue;
            }
            stack.Push((node, true));
            for (int i = node.Inputs.Count - 1; i >= 0; i--)
                if (node.Inputs[i].Producer is { } q && !done.Contains(q)) stack.Push((q, false));
        }
        return order;
    }
}
