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
    /// <summary>All values, trainable or not.</summary>
    public long Parameters => TrainableParameters + NonTrainableParameters;
}

/// <summary>
/// A Keras-style model summary: each layer's output shape and parameter count, and the totals. <see cref="ToString"/>
/// renders an aligned table.
/// </summary>
public sealed class ModelSummary
{
    internal ModelSummary(string modelName, TensorShape inputShape, IReadOnlyList<LayerSummary> rows)
    {
        ModelName = modelName;
        InputShape = inputShape;
        Rows = rows;
        TrainableParameters = rows.Where(r => r.Depth == 0).Sum(r => r.TrainableParameters);
        NonTrainableParameters = rows.Where(r => r.Depth == 0).Sum(r => r.NonTrainableParameters);
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>Per-sample input shape.</summary>
    public TensorShape InputShape { get; }

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

    /// <summary>An aligned text table like Keras' <c>model.summary()</c>.</summary>
    public override string ToString()
    {
        var ci = CultureInfo.InvariantCulture;
        var cells = Rows.Select(r => (
            Name: new string(' ', 2 * r.Depth) + $"{r.Name} ({r.Type})",
            Shape: Shapes.Format(r.OutputShape),
            Params: r.Parameters.ToString("N0", ci))).ToList();
        const string h1 = "Layer (type)", h2 = "Output shape", h3 = "Param #";
        int w1 = Math.Max(h1.Length, cells.Count == 0 ? 0 : cells.Max(c => c.Name.Length)) + 2;
        int w2 = Math.Max(h2.Length, cells.Count == 0 ? 0 : cells.Max(c => c.Shape.Length)) + 2;
        int w3 = Math.Max(h3.Length, cells.Count == 0 ? 0 : cells.Max(c => c.Params.Length));
        int width = w1 + w2 + w3;
        var sb = new StringBuilder();
        sb.Append("Model: \"").Append(ModelName).Append("\"  input ").AppendLine(Shapes.Format(InputShape));
        sb.AppendLine(new string('=', width));
        sb.Append(h1.PadRight(w1)).Append(h2.PadRight(w2)).AppendLine(h3.PadLeft(w3));
        sb.AppendLine(new string('=', width));
        foreach (var c in cells)
            sb.Append(c.Name.PadRight(w1)).Append(c.Shape.PadRight(w2)).AppendLine(c.Params.PadLeft(w3));
        sb.AppendLine(new string('=', width));
        sb.Append("Total params: ").AppendLine(TotalParameters.ToString("N0", ci));
        sb.Append("Trainable params: ").AppendLine(TrainableParameters.ToString("N0", ci));
        sb.Append("Non-trainable params: ").Append(NonTrainableParameters.ToString("N0", ci));
        return sb.ToString();
    }
}
