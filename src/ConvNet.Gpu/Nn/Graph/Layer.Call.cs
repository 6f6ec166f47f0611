namespace ConvNet.Gpu.Nn;

public abstract partial class Layer
{
    /// <summary>
    /// Records a call of this layer on a symbolic tensor (functional API) and returns its symbolic output; nothing is
    /// built or run until a <see cref="Model"/> is made of the tensors. Calling a layer again shares its parameters.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input does not fit, or differs from an earlier call's (the message names both).</exception>
    /// <exception cref="InvalidOperationException">The layer is already built in a model.</exception>
    public SymbolicTensor Call(SymbolicTensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Call([input]);
    }

    /// <summary>Records a call on several symbolic tensors (merge layers such as <see cref="Add"/> and <see cref="Concat"/>).</summary>
    /// <exception cref="ShapeMismatchException">The inputs do not fit, or differ from an earlier call's.</exception>
    public SymbolicTensor Call(params SymbolicTensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsBuilt)
            throw new InvalidOperationException($"Layer '{Name}' ({TypeName}) is already built in a model; create a new layer to call it symbolically.");
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"Input {i} of the call of layer '{Name}' ({TypeName}) is null.");
        var shapes = inputs.Select(t => t.Shape).ToArray();
        string Describe() => string.Join(", ", inputs.Select(t => $"'{t.Name}' {t.Shape}"));
        if (_calls.Count > 0)
        {
            var first = _calls[0].Inputs;
            if (first.Count != inputs.Length || !first.Select(t => t.Shape).Zip(shapes).All(p => p.First.SameDimensions(p.Second)))
                throw new ShapeMismatchException(
                    $"Shared layer '{Name}' ({TypeName}) was first called on {string.Join(", ", first.Select(t => $"'{t.Name}' {t.Shape}"))} " +
                    $"and now on {Describe()}; every call of a shared layer must take the same shapes.");
        }
        TensorShape output;
        try
        {
            output = ComputeOutputShape(shapes);
        }
        catch (ConvNetArgumentException e)
        {
            string message = $"Calling layer '{(Name.Length == 0 ? TypeName : Name)}' ({TypeName}) on {Describe()}: {e.Message}";
            throw e switch
            {
                InvalidGeometryException => new InvalidGeometryException(message),
                ShapeMismatchException => new ShapeMismatchException(message),
                _ => new ConvNetArgumentException(message),
            };
        }
        var node = new GraphNode(this, inputs, _calls.Count);
        node.Output = new SymbolicTensor(output, node);
        _calls.Add(node);
        return node.Output;
    }

    /// <summary>
    /// Builds this (fresh) layer as a replica of <paramref name="owner"/>, a built layer of the same type and
    /// hyper-parameters: the same input shapes, the very same parameter values and state tensors, and buffers and
    /// parameter gradients of its own. <paramref name="seed"/> seeds what is per-call (a dropout mask stream).
    /// </summary>
    internal void BuildReplica(Layer owner, ulong seed)
    {
        _backend = owner.Backend;
        _inputShapes = [.. owner.InputShapes];
        _outputShape = ComputeOutputShape(_inputShapes);
        _replicaOf = owner;
        OnBuild(new ParameterFactory(this, owner.Backend, seed, shareFrom: owner));
    }

    /// <summary>A fresh, unbuilt layer with this one's type and hyper-parameters (what a shared layer's later calls run on).</summary>
    /// <remarks>The default rebuilds it from <see cref="GetConfig"/> through <see cref="LayerRegistry"/>.</remarks>
    protected internal virtual Layer CreateReplica() => LayerRegistry.Create(GetConfig());
}
