namespace ConvNet.Gpu.Nn;

/// <summary>
/// A tensor of the functional API: a placeholder with a per-sample <see cref="Shape"/> that is either a model input
/// (<see cref="Model.Input(TensorShape, string?)"/>) or the output of a layer call (<see cref="Layer.Call(SymbolicTensor)"/>).
/// It holds no data; a <see cref="Model"/> built from input and output symbolic tensors runs the layers between them.
/// </summary>
/// <example>
/// <code>
/// var image = Model.Input((3, 32, 32), "image");
/// var a = new Conv2D(16, 3, padding: 1).Call(image);
/// var b = new Conv2D(16, 1).Call(image);
/// var y = new ReLU().Call(new Add().Call(a, b));
/// using var model = new Model(backend, image, new Dense(10).Call(new GlobalAvgPool2D().Call(y)));
/// </code>
/// </example>
public sealed class SymbolicTensor
{
    private static long s_created;

    internal SymbolicTensor(TensorShape shape, GraphNode? producer, string? inputName = null)
    {
        Shape = shape;
        Producer = producer;
        InputName = inputName;
        Order = Interlocked.Increment(ref s_created);
    }

    /// <summary>An input's name (given, or assigned by the model); null for a layer output.</summary>
    internal string? InputName { get; set; }

    /// <summary>The per-sample shape (no batch dimension).</summary>
    public TensorShape Shape { get; }

    /// <summary>
    /// The input's name, or the name of the layer call that produces it: the layer's name for its first call, and
    /// "name#k" for its k-th call (empty until the layer is named, at the latest when a model is built).
    /// </summary>
    public string Name => Producer?.Name ?? InputName ?? "";

    /// <summary>Whether this is a model input (no layer produces it).</summary>
    public bool IsInput => Producer is null;

    /// <summary>The layer call that produces this tensor, or null for an input.</summary>
    internal GraphNode? Producer { get; }

    /// <summary>Creation order (process-wide), the tie-break that makes a model's topological order deterministic.</summary>
    internal long Order { get; }

    /// <summary>"name (C, H, W)".</summary>
    public override string ToString() => $"{Name} {Shape}";
}

/// <summary>One call of a layer in a graph: the layer, the tensors it reads and the tensor it writes.</summary>
internal sealed class GraphNode
{
    public GraphNode(Layer owner, IReadOnlyList<SymbolicTensor> inputs, int callIndex)
    {
        Owner = owner;
        Inputs = inputs.ToArray();
        CallIndex = callIndex;
    }

    /// <summary>The layer the user called (its first call runs on it; later calls on a replica).</summary>
    public Layer Owner { get; }

    /// <summary>The input tensors, in order.</summary>
    public IReadOnlyList<SymbolicTensor> Inputs { get; }

    /// <summary>The output tensor.</summary>
    public SymbolicTensor Output { get; set; } = null!;

    /// <summary>0 for a layer's first call, k - 1 for its k-th.</summary>
    public int CallIndex { get; }

    /// <summary>The layer instance that runs this call once the model is built (the owner, or a replica sharing its parameters).</summary>
    public Layer? Runner { get; set; }

    /// <summary>The call's name: the layer's name, with "#k" for its k-th call (k ≥ 2).</summary>
    public string Name => CallIndex == 0 ? Owner.Name : $"{Owner.Name}#{CallIndex + 1}";
}
