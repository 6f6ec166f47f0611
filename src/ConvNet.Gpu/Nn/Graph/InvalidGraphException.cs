namespace ConvNet.Gpu.Nn;

/// <summary>
/// A functional model's graph is not valid: a cycle, an input no output uses, an output that depends on a tensor that is
/// not among the model's inputs, a duplicate name, or a saved graph that refers to an unknown tensor. The message and
/// <see cref="Nodes"/> name the nodes and tensors involved.
/// </summary>
public sealed class InvalidGraphException : ConvNetArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the nodes.</param>
    /// <param name="nodes">The names of the nodes or tensors involved.</param>
    public InvalidGraphException(string message, IReadOnlyList<string> nodes) : base(message) => Nodes = nodes;

    /// <summary>The names of the nodes or tensors involved.</summary>
    public IReadOnlyList<string> Nodes { get; }
}
