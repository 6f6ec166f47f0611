namespace ConvNet.Gpu.Nn;

public partial class Model
{
    /// <summary>
    /// Anomaly detection: after every layer's forward pass (and every backward pass) the output and gradients are
    /// downloaded and checked, and the first layer producing NaN or infinity raises <see cref="NumericAnomalyException"/>
    /// naming it. Slow (one download per layer); for debugging.
    /// </summary>
    public bool AnomalyDetection
    {
        get => _anomalyDetection;
        set
        {
            _anomalyDetection = value;
            for (int i = 0; i < _nodes.Count; i++)
                foreach (var (path, layer) in Walk(_nodes[i].Runner!, $"{i}:{_nodes[i].Name}"))
                    layer.AnomalyPath = value ? LayerPath(path) : null;
        }
    }

    // "4:residual_1/0:conv1" -> "residual_1/conv1": names without the indices.
    private static string LayerPath(string path) =>
        string.Join('/', path.Split('/').Select(part => part[(part.IndexOf(':', StringComparison.Ordinal) + 1)..]));

    /// <summary>Whether <see cref="Summary"/> shows each call's inputs (graph models) or only the layers (chains).</summary>
    private protected virtual bool SummaryShowsConnections => true;

    /// <summary>
    /// The Keras-style summary: one row per layer call with its output shape, parameter count and (for graph models)
    /// the tensors it reads, then the totals.
    /// </summary>
    public ModelSummary Summary()
    {
        var rows = new List<LayerSummary>();
        void AddRows(Layer l, string prefix, int depth, IReadOnlyList<string> inputs, bool shared)
        {
            rows.Add(new LayerSummary(prefix + l.Name, l.TypeName, l.OutputShape, shared ? 0 : l.TrainableParameterCount,
                shared ? 0 : l.NonTrainableParameterCount, depth) { Inputs = inputs });
            if (!shared) foreach (var c in l.Children) AddRows(c, prefix + l.Name + "/", depth + 1, [], false);
        }
        if (!SummaryShowsConnections)
        {
            foreach (var l in _layers) AddRows(l, "", 0, [], false);
            return new ModelSummary(Name, InputShapes, rows);
        }
        foreach (var input in _inputs)
            rows.Add(new LayerSummary(input.Name, "Input", input.Shape, 0, 0, 0));
        foreach (var node in _nodes)
            AddRows(node.Runner!, "", 0, node.Inputs.Select(t => t.Name).ToArray(), shared: !ReferenceEquals(node.Runner, node.Owner));
        return new ModelSummary(Name, InputShapes, rows) { Outputs = _outputs.Select(t => t.Name).ToArray() };
    }
}
