using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Nn;

public partial class Model
{
    // Tensor slots: inputs first (0..I-1), then the output of node k at I + k.
    private int SlotOf(SymbolicTensor t) => t.Producer is { } p ? _inputs.Count + _nodeIndex[p] : _inputs.IndexOf(t);

    private readonly Dictionary<GraphNode, int> _nodeIndex = new(ReferenceEqualityComparer.Instance);

    /// <summary>Checks the graph between <paramref name="inputs"/> and <paramref name="outputs"/>, orders it and builds its layers.</summary>
    private void BuildGraph(IReadOnlyList<SymbolicTensor> inputs, IReadOnlyList<SymbolicTensor> outputs)
    {
        if (inputs.Count == 0) throw new InvalidGraphException($"Model '{Name}' needs at least one input.", []);
        if (outputs.Count == 0) throw new InvalidGraphException($"Model '{Name}' needs at least one output.", []);
        for (int i = 0; i < inputs.Count; i++)
        {
            var t = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"Input {i} of model '{Name}' is null.");
            if (!t.IsInput)
                throw new InvalidGraphException(
                    $"Model '{Name}': input {i} is the output of layer call '{t.Name}', not a model input; make inputs with Model.Input.", [t.Name]);
            if (_inputs.Contains(t))
                throw new InvalidGraphException($"Model '{Name}': input '{t.Name}' is given twice.", [t.Name]);
            _inputs.Add(t);
        }
        for (int i = 0; i < outputs.Count; i++)
            _outputs.Add(outputs[i] ?? throw new ArgumentNullException(nameof(outputs), $"Output {i} of model '{Name}' is null."));
        NameInputs();

        // Every node the outputs depend on, and every input they reach.
        var reached = new HashSet<GraphNode>(ReferenceEqualityComparer.Instance);
        var usedInputs = new HashSet<SymbolicTensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(SymbolicTensor Tensor, SymbolicTensor Output)>(_outputs.Select(o => (o, o)));
        while (stack.Count > 0)
        {
            var (t, output) = stack.Pop();
            if (t.Producer is null)
            {
                if (!_inputs.Contains(t))
                    throw new InvalidGraphException(
                        $"Model '{Name}': output '{output.Name}' depends on input '{t.Name}' {t.Shape}, which is not among the model's inputs " +
                        $"[{string.Join(", ", _inputs.Select(x => x.Name))}].", [output.Name, t.Name]);
                usedInputs.Add(t);
                continue;
            }
            if (!reached.Add(t.Producer)) continue;
            foreach (var input in t.Producer.Inputs) stack.Push((input, output));
        }
        var unused = _inputs.Where(t => !usedInputs.Contains(t)).Select(t => t.Name).ToList();
        if (unused.Count > 0)
            throw new InvalidGraphException($"Model '{Name}': input(s) {string.Join(", ", unused.Select(u => $"'{u}'"))} are not used by any output.", unused);

        foreach (var node in TopologicalOrder(reached))
        {
            _nodeIndex[node] = _nodes.Count;
            _nodes.Add(node);
            if (!_layers.Contains(node.Owner))
            {
                if (node.Owner.IsBuilt)
                    throw new InvalidOperationException(
                        $"Layer '{node.Owner.Name}' ({node.Owner.TypeName}) is already built, in another model; a layer instance belongs to one model.");
                _layers.Add(node.Owner);
            }
        }
        NameLayers();
        BuildLayers();
    }

    // Kahn's algorithm; among ready nodes the one created first goes first, so the order is deterministic. A node that
    // never becomes ready is on a cycle (impossible through Layer.Call, possible in a hand-written architecture).
    private IEnumerable<GraphNode> TopologicalOrder(HashSet<GraphNode> nodes)
    {
        var waiting = new Dictionary<GraphNode, int>(ReferenceEqualityComparer.Instance);
        var consumers = new Dictionary<GraphNode, List<GraphNode>>(ReferenceEqualityComparer.Instance);
        foreach (var n in nodes)
        {
            waiting[n] = n.Inputs.Count(t => t.Producer is not null);
            foreach (var t in n.Inputs)
                if (t.Producer is { } p)
                {
                    if (!consumers.TryGetValue(p, out var list)) consumers[p] = list = [];
                    list.Add(n);
                }
        }
        var ready = new SortedSet<GraphNode>(Comparer<GraphNode>.Create((a, b) => a.Output.Order.CompareTo(b.Output.Order)));
        foreach (var (n, count) in waiting) if (count == 0) ready.Add(n);
        var order = new List<GraphNode>();
        while (ready.Count > 0)
        {
            var n = ready.Min!;
            ready.Remove(n);
            order.Add(n);
            if (!consumers.TryGetValue(n, out var list)) continue;
            foreach (var c in list)
                if (--waiting[c] == 0) ready.Add(c);
        }
        if (order.Count < nodes.Count)
        {
            var stuck = nodes.Where(n => waiting[n] > 0).Select(n => n.Name).Order(StringComparer.Ordinal).ToList();
            throw new InvalidGraphException($"Model '{Name}': the graph has a cycle through {string.Join(", ", stuck.Select(s => $"'{s}'"))}.", stuck);
        }
        return order;
    }

    private void NameInputs()
    {
        var taken = _inputs.Where(t => t.InputName is not null).Select(t => t.InputName!).ToList();
        var duplicate = taken.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidGraphException($"Model '{Name}': two inputs are named '{duplicate.Key}'; input names must be unique.", [duplicate.Key]);
        int k = 1;
        foreach (var t in _inputs)
        {
            if (t.InputName is not null) continue;
            while (taken.Contains($"input_{k}")) k++;
            t.InputName = $"input_{k}";
            taken.Add(t.InputName);
        }
    }

    // Unnamed layers get "type_k" names (k from 1, skipping taken names), as Sequential names them.
    private void NameLayers()
    {
        var taken = new HashSet<string>(_inputs.Select(t => t.Name), StringComparer.Ordinal);
        foreach (var layer in _layers)
        {
            if (layer.Name.Length == 0) continue;
            if (!taken.Add(layer.Name))
                throw new InvalidGraphException(
                    $"Model '{Name}': the name '{layer.Name}' is used twice (by layers or inputs); names must be unique.", [layer.Name]);
        }
        foreach (var layer in _layers)
        {
            if (layer.Name.Length != 0) continue;
            string stem = layer.TypeName.ToLowerInvariant();
            for (int k = 1; ; k++)
            {
                string candidate = $"{stem}_{k}";
                if (!taken.Add(candidate)) continue;
                layer.Name = candidate;
                break;
            }
        }
    }

    // Owners first (layer i with seed stream i + 1), then one replica for every later call of a shared layer.
    private void BuildLayers()
    {
        try
        {
            var built = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < _nodes.Count; i++)
            {
                var node = _nodes[i];
                var owner = node.Owner;
                if (built.Add(owner))
                {
                    int index = _layers.IndexOf(owner);
                    Build(owner, node.Inputs.Select(t => t.Shape).ToArray(), HostRandom.Derive(Seed, (ulong)index + 1), index);
                    node.Runner = owner;
                }
                else
                {
                    var replica = owner.CreateReplica();
                    replica.Name = node.Name;
                    replica.BuildReplica(owner, HostRandom.Derive(Seed, 1_000_000UL + (ulong)i));
                    node.Runner = replica;
                }
                node.Runner.GradientArena = _arena;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Build(Layer layer, IReadOnlyList<TensorShape> shapes, ulong seed, int index)
    {
        try
        {
            layer.Build(Backend, shapes, seed);
        }
        catch (ConvNetArgumentException e) when (e is not InvalidGraphException)
        {
            string message = $"Model '{Name}': cannot build layer #{index} '{layer.Name}' ({layer.TypeName}) on {string.Join(", ", shapes)}: {e.Message}";
            throw e switch
            {
                InvalidGeometryException => new InvalidGeometryException(message),
                ShapeMismatchException => new ShapeMismatchException(message),
                _ => new ConvNetArgumentException(message),
            };
        }
    }

    /// <summary>Appends an already built single-input layer after the current (only) output: how a chain grows.</summary>
    private protected void AppendBuilt(Layer layer)
    {
        var input = _outputs[0];
        var node = new GraphNode(layer, [input], 0) { Runner = layer };
        node.Output = new SymbolicTensor(layer.OutputShape, node);
        layer.GradientArena = _arena;
        _nodeIndex[node] = _nodes.Count;
        _nodes.Add(node);
        _layers.Add(layer);
        _outputs[0] = node.Output;
        _namedParameters = null;
        _namedState = null;
    }
}
