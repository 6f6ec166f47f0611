using System.Globalization;
using System.Text;

namespace ConvNet.Gpu.Nn;

/// <summary>One row of a <see cref="ModelSummary"/>.</summary>
/// <param name="Name">Layer name (nested layers are prefixed with their parent's name and a slash).</param>
/// <param name="Type">Layer type, e.g. "Conv2D".</param>
/// <param name="OutputShape">Per-sample output shape.</param>
/// <param name="TrainableParameters">Trainable values of this layer (for a composite layer, of its whole block).</param>
/// <param name="NonTrainableParameters">Non-trainable values (e.g. running statistics).</param>
/// <param name="Depth">0 for the model's own layers, 1+ for layers nested inside a block.</param>
public sealed record LayerSummary(string Name, string Type, TensorShape OutputShape, long TrainableParameters,
    long NonTrainableParameters, int Depth)
{
    /// <summary>For a graph model's row: the tensors the call reads (input names or calls' names); empty otherwise.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];

    /// <summary>All values, trainable or not.</summary>
    public long Parameters => TrainableParameters + NonTrainableParameters;
}

/// <summary>
/// A Keras-style model summary: each layer's output shape and parameter count, and the totals. For a graph model the
/// rows are the inputs and the layer calls in topological order, each with the tensors it reads ("Connected to"); a
/// shared layer's later calls show 0 parameters, since they reuse the first call's. <see cref="ToString"/> renders an
/// aligned table.
/// </summary>
public sealed class ModelSummary
{
    internal ModelSummary(string modelName, IReadOnlyList<TensorShape> inputShapes, IReadOnlyList<LayerSummary> rows)
    {
        ModelName = modelName;
        InputShapes = inputShapes;
        InputShape = inputShapes[0];
        Rows = rows;
        TrainableParameters = rows.Where(r => r.Depth == 0).Sum(r => r.TrainableParameters);
        NonTrainableParameters = rows.Where(r => r.Depth == 0).Sum(r => r.NonTrainableParameters);
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>Per-sample input shape (the first input's for a model with several).</summary>
    public TensorShape InputShape { get; }

    /// <summary>Per-sample shape of every input.</summary>
    public IReadOnlyList<TensorShape> InputShapes { get; }

    /// <summary>For a graph model, the names of its outputs; empty for a chain.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>One row per layer, nested block layers following their parent with a greater <see cref="LayerSummary.Depth"/>.</summary>
    public IReadOnlyList<LayerSummary> Rows { get; }

    /// <summary>Rows of the model's own (top-level) layers.</summary>
    public IEnumerable<LayerSummary> TopLevelRows => Rows.Where(r => r.Depth == 0);

    /// <summary>Total trainable values.</summary>
    public long TrainableParameters { get; }

    /// <summary>Total non-trainable values.</summary>
    public long NonTrainableParameters { get; }

    /// <summary>All values.</summary>
    public long TotalParameters => TrainableParameters + NonTrainableParameters;

    /// <summary>The row of the layer called <paramref name="name"/>.</summary>
    public LayerSummary this[string name] =>
        Rows.FirstOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException($"No layer named '{name}' in model '{ModelName}'.");

    /// <summary>An aligned text table like Keras' <c>model.summary()</c> (with a "Connected to" column for graph models).</summary>
    public override string ToString()
    {
        var ci = CultureInfo.InvariantCulture;
        bool graph = Rows.Any(r => r.Inputs.Count > 0);
        var cells = Rows.Select(r => (
            Name: new string(' ', 2 * r.Depth) + $"{r.Name} ({r.Type})",
            Shape: Shapes.Format(r.OutputShape),
            Params: r.Parameters.ToString("N0", ci),
            Inputs: string.Join(", ", r.Inputs))).ToList();
        const string h1 = "Layer (type)", h2 = "Output shape", h3 = "Param #", h4 = "Connected to";
        int w1 = Math.Max(h1.Length, cells.Count == 0 ? 0 : cells.Max(c => c.Name.Length)) + 2;
        int w2 = Math.Max(h2.Length, cells.Count == 0 ? 0 : cells.Max(c => c.Shape.Length)) + 2;
        int w3 = Math.Max(h3.Length, cells.Count == 0 ? 0 : cells.Max(c => c.Params.Length));
        int w4 = graph ? 2 + Math.Max(h4.Length, cells.Max(c => c.Inputs.Length)) : 0;
        int width = w1 + w2 + w3 + w4;
        var sb = new StringBuilder();
        sb.Append("Model: \"").Append(ModelName).Append(InputShapes.Count == 1 ? "\"  input " : "\"  inputs ")
            .AppendLine(string.Join(", ", InputShapes.Select(Shapes.Format)));
        sb.AppendLine(new string('=', width));
        sb.Append(h1.PadRight(w1)).Append(h2.PadRight(w2)).Append(h3.PadLeft(w3));
        sb.AppendLine(graph ? "  " + h4 : "");
        sb.AppendLine(new string('=', width));
        foreach (var c in cells)
        {
            sb.Append(c.Name.PadRight(w1)).Append(c.Shape.PadRight(w2)).Append(c.Params.PadLeft(w3));
            sb.AppendLine(graph && c.Inputs.Length > 0 ? "  " + c.Inputs : "");
        }
        sb.AppendLine(new string('=', width));
        if (Outputs.Count > 0) sb.Append("Outputs: ").AppendLine(string.Join(", ", Outputs));
        sb.Append("Total params: ").AppendLine(TotalParameters.ToString("N0", ci));
        sb.Append("Trainable params: ").AppendLine(TrainableParameters.ToString("N0", ci));
        sb.Append("Non-trainable params: ").Append(NonTrainableParameters.ToString("N0", ci));
        return sb.ToString();
    }
}
