using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

public partial class Model
{
    // Per slot (inputs, then node outputs): the forward value, the gradient being accumulated, whether that gradient is
    // the model's own accumulation buffer (safe to add into) and whether the slot needs a gradient at all.
    private Tensor?[] _values = [];
    private Tensor?[] _grads = [];
    private bool[] _ownsGrad = [];
    private bool[] _needsGrad = [];

    private void EnsureSlots()
    {
        int slots = _inputs.Count + _nodes.Count;
        if (_values.Length == slots) return;
        _values = new Tensor?[slots];
        _grads = new Tensor?[slots];
        _ownsGrad = new bool[slots];
        _needsGrad = new bool[slots];
    }

    /// <summary>
    /// Runs the model on a batch (N, input sample...) of its only input. The returned tensor belongs to the model and
    /// stays valid until the next forward pass.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has several inputs or outputs (use the list overload), or no layers.</exception>
    public Tensor Forward(Tensor input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_inputs.Count != 1 || _outputs.Count != 1)
            throw new InvalidOperationException(
                $"Model '{Name}' has {_inputs.Count} inputs and {_outputs.Count} outputs; call Forward with a list of inputs.");
        return Forward([input], training)[0];
    }

    /// <summary>
    /// Runs the model on one batch per input (each (N, input sample...), all with the same N) and returns one batch per
    /// output. In training mode every layer keeps what <see cref="Backward(IReadOnlyList{Tensor})"/> needs.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The number of inputs, a shape or the batch sizes do not match.</exception>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        using var use = UseGuard.Enter("Forward");
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_nodes.Count == 0) throw new InvalidOperationException($"Model '{Name}' has no layers.");
        if (inputs.Count != _inputs.Count)
            throw new ShapeMismatchException($"Model '{Name}' takes {_inputs.Count} inputs, got {inputs.Count}.");
        EnsureSlots();
        for (int i = 0; i < inputs.Count; i++)
        {
            var t = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"Input {i} of model '{Name}' is null.");
            var expected = _inputs[i].Shape;
            if (t.Rank != expected.Rank + 1 || !Shapes.Sample(t.Shape).SameDimensions(expected))
                throw new ShapeMismatchException(
                    $"Model '{Name}' input {i} '{_inputs[i].Name}' expects (N, {string.Join(", ", expected.Dimensions)}), got {t.Shape}.");
            if (t.Shape[0] != inputs[0].Shape[0])
                throw new ShapeMismatchException($"Model '{Name}': input {i} has batch {t.Shape[0]} but input 0 has {inputs[0].Shape[0]}.");
            _values[i] = t;
        }
        PlanFusion();
        for (int k = 0; k < _nodes.Count; k++)
        {
            var node = _nodes[k];
            var runner = node.Runner!;
            _values[_inputs.Count + k] = node.Inputs.Count == 1
                ? runner.Forward(_values[SlotOf(node.Inputs[0])]!, training)
                : runner.Forward(node.Inputs.Select(t => _values[SlotOf(t)]!).ToArray(), training);
        }
        var outputs = new Tensor[_outputs.Count];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = _values[SlotOf(_outputs[i])]!;
        Array.Clear(_values);
        return outputs;
    }

    private int[]? _consumers;

    // Lets a convolution or dense call apply the activation of the call right after it in its epilogue (one pass instead
    // of two forward, one fused backward), when that activation is the only reader of its output, the output is not a
    // model output, the activation's derivative follows from its output, the layer is trainable, the backend is CUDA
    // (where a pass is a launch) and no anomaly detection wants each layer's output apart. Decided before every forward,
    // since freezing or anomaly detection may change between passes; the same bits either way.
    private void PlanFusion()
    {
        if (_consumers is null)
        {
            _consumers = new int[_inputs.Count + _nodes.Count];
            foreach (var node in _nodes) foreach (var t in node.Inputs) _consumers[SlotOf(t)]++;
            foreach (var t in _outputs) _consumers[SlotOf(t)]++;
        }
        foreach (var node in _nodes)
        {
            if (node.Runner is ActivationLayer a) a.FusedIntoProducer = false;
            if (node.Runner is IFusedActivationHost h) h.FusedEpilogue = null;
        }
        for (int k = 0; k < _nodes.Count; k++)
        {
            if (_nodes[k].Runner is not IFusedActivationHost host) continue;
            if (k + 1 >= _nodes.Count || AnomalyDetection || !host.CanFuse) continue;
            var next = _nodes[k + 1];
            int slot = _inputs.Count + k;
            if (next.Runner is not ActivationLayer act || next.Inputs.Count != 1 || SlotOf(next.Inputs[0]) != slot || _consumers[slot] != 1) continue;
            if (act.FusableEpilogue is not { } epilogue) continue;
            host.FusedEpilogue = epilogue;
            act.FusedIntoProducer = true;
        }
    }

    /// <summary>
    /// Back-propagates the gradient of the loss with respect to the only output, overwriting every trainable
    /// parameter's gradient. Must follow a training-mode forward pass with the same batch.
    /// </summary>
    public void Backward(Tensor gradOutput)
    {
        ArgumentNullException.ThrowIfNull(gradOutput);
        Backward([gradOutput]);
    }

    /// <summary>
    /// Back-propagates one gradient per output (each the shape of that output; the caller keeps ownership), overwriting
    /// every trainable parameter's gradient. Must follow a training-mode forward pass with the same batch. Frozen
    /// layers get no gradient, and calls that neither hold trainable parameters nor depend on any are skipped.
    /// </summary>
    public void Backward(IReadOnlyList<Tensor> gradOutputs) => Backward(gradOutputs, null);

    /// <summary>
    /// <see cref="Backward(IReadOnlyList{Tensor})"/>, calling <paramref name="layerDone"/> with each layer of
    /// <see cref="Layers"/> once its parameter gradients are final, in backward order: right after its call's backward
    /// pass (skipped calls included), or, for a layer called several times, once the calls' gradients have been summed
    /// at the end. Data-parallel training starts the all-reduce of finished gradient buckets there, while the layers
    /// below still run.
    /// </summary>
    public void Backward(IReadOnlyList<Tensor> gradOutputs, Action<Layer>? layerDone)
    {
        using var use = UseGuard.Enter("Backward");
        ArgumentNullException.ThrowIfNull(gradOutputs);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (gradOutputs.Count != _outputs.Count)
            throw new ShapeMismatchException($"Model '{Name}' has {_outputs.Count} outputs but got {gradOutputs.Count} output gradients.");
        EnsureSlots();
        int first = _inputs.Count;
        // A slot needs a gradient when some trainable parameter lies on a path into it.
        for (int k = 0; k < _nodes.Count; k++)
        {
            var node = _nodes[k];
            bool inputsNeed = false;
            foreach (var t in node.Inputs) inputsNeed |= _needsGrad[SlotOf(t)];
            node.Runner!.RequiresInputGradient = inputsNeed;
            _needsGrad[first + k] = inputsNeed || node.Runner.HasTrainableParameters;
        }
        try
        {
            for (int i = 0; i < gradOutputs.Count; i++)
            {
                var g = gradOutputs[i] ?? throw new ArgumentNullException(nameof(gradOutputs), $"Output gradient {i} is null.");
                var expected = _outputs[i].Shape;
                if (g.Rank != expected.Rank + 1 || !Shapes.Sample(g.Shape).SameDimensions(expected))
                    throw new ShapeMismatchException($"Model '{Name}' output {i} '{_outputs[i].Name}' is (N, {string.Join(", ", expected.Dimensions)}) but its gradient is {g.Shape}.");
                int slot = SlotOf(_outputs[i]);
                if (_needsGrad[slot]) Accumulate(slot, g);
            }
            for (int k = _nodes.Count - 1; k >= 0; k--)
            {
                var node = _nodes[k];
                int slot = first + k;
                var g = _grads[slot];
                if (_needsGrad[slot])
                {
                    if (g is null)
                        throw new InvalidOperationException($"Model '{Name}': no gradient reached the output of '{node.Name}'.");
                    BackwardNode(node, g);
                }
                if (g is not null) _arena.Release(g);
                _grads[slot] = null;
                _ownsGrad[slot] = false;
                _arena.Sweep();
                if (layerDone is not null && node.Owner.Calls.Count <= 1) layerDone(node.Owner);
            }
            SumSharedGradients();
            if (layerDone is not null)
                for (int i = _layers.Count - 1; i >= 0; i--)
                    if (_layers[i].Calls.Count > 1) layerDone(_layers[i]);
        }
        finally
        {
            for (int s = 0; s < _grads.Length; s++)
            {
                if (_grads[s] is { } leftover) _arena.Release(leftover);
                _grads[s] = null;
                _ownsGrad[s] = false;
            }
            Array.Clear(_needsGrad);
            _arena.Sweep();
        }
    }

    private void BackwardNode(GraphNode node, Tensor g)
    {
        var runner = node.Runner!;
        if (node.Inputs.Count == 1)
        {
            var gi = runner.Backward(g);
            int slot = SlotOf(node.Inputs[0]);
            if (gi is not null && _needsGrad[slot]) Accumulate(slot, gi);
            return;
        }
        var grads = runner.BackwardInputs(g);
        for (int j = 0; j < grads.Count; j++)
        {
            int slot = SlotOf(node.Inputs[j]);
            if (grads[j] is { } gj && _needsGrad[slot]) Accumulate(slot, gj);
        }
    }

    // Adds a contribution to a slot's gradient, in the order contributions arrive (reverse topological order). The
    // first is kept by reference; from the second on the sum goes to a buffer the model owns, never into a tensor that
    // belongs to a layer or aliases another gradient.
    private void Accumulate(int slot, Tensor contribution)
    {
        var existing = _grads[slot];
        if (existing is null)
        {
            _grads[slot] = contribution;
            _arena.Hold(contribution);
            return;
        }
        if (_ownsGrad[slot])
        {
            Backend.Axpy(1f, contribution, existing);
            return;
        }
        var sum = _arena.Rent(Backend, existing.Shape);
        Backend.Add(existing, contribution, sum);
        _arena.Release(existing);
        _arena.Hold(sum);
        _grads[slot] = sum;
        _ownsGrad[slot] = true;
    }

    // A shared layer's later calls ran on replicas with gradients of their own: add them into the shared parameters'
    // gradients, replica by replica in topological order, for the parameters the optimizer updates.
    private void SumSharedGradients()
    {
        HashSet<Parameter>? trainable = null;
        foreach (var node in _nodes)
        {
            var runner = node.Runner!;
            if (ReferenceEquals(runner, node.Owner) || !runner.HasTrainableParameters) continue;
            trainable ??= [.. Parameters];
            var own = node.Owner.Parameters;
            var copy = runner.Parameters;
            for (int p = 0; p < own.Count; p++)
                if (trainable.Contains(own[p])) Backend.Axpy(1f, copy[p].Gradient, own[p].Gradient);
        }
    }
}
