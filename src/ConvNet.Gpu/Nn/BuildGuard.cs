namespace ConvNet.Gpu.Nn;

/// <summary>
/// While active on the current thread, every parameter and state tensor a layer's build creates must match, by name
/// and shape, a saved tensor not claimed yet; the check runs before anything is allocated or initialized. Loading a
/// checkpoint builds its model under a guard made from the file's tensors, so an architecture that does not fit the
/// saved weights (a crafted Dense of 4,000,000 units, say) fails on its first misfit tensor, and the memory a
/// build allocates is bounded by the tensors the file really holds.
/// </summary>
/// <remarks>
/// Saved keys are model paths such as "3:fc1/weight" or "4:residual_1/0:conv1/weight"; a layer claims the first
/// unclaimed key that ends in ":&lt;layer name&gt;/&lt;tensor name&gt;" with the same dimensions. The exact key of every
/// tensor is checked again once the model is built.
/// </remarks>
internal sealed class BuildGuard : IDisposable
{
    [ThreadStatic] private static BuildGuard? _current;

    private readonly BuildGuard? _previous;
    private readonly List<Entry> _parameters, _state;

    private sealed class Entry(string key, int[] dimensions)
    {
        public string Key { get; } = key;
        public int[] Dimensions { get; } = dimensions;
        public bool Claimed { get; set; }
    }

    private BuildGuard(IEnumerable<(string Key, int[] Dimensions)> parameters, IEnumerable<(string Key, int[] Dimensions)> state)
    {
        _parameters = parameters.Select(p => new Entry(p.Key, p.Dimensions)).ToList();
        _state = state.Select(s => new Entry(s.Key, s.Dimensions)).ToList();
        _previous = _current;
        _current = this;
    }

    /// <summary>Activates a guard on this thread until disposed; keys are model paths without the "param:"/"state:" prefix.</summary>
    public static BuildGuard Begin(IEnumerable<(string Key, int[] Dimensions)> parameters, IEnumerable<(string Key, int[] Dimensions)> state) =>
        new(parameters, state);

    /// <summary>Called before a layer allocates a tensor; a no-op without an active guard.</summary>
    /// <exception cref="ShapeMismatchException">No unclaimed saved tensor has that name and shape.</exception>
    public static void Claim(bool isState, Layer layer, string name, TensorShape shape)
    {
        if (_current is not { } guard) return;
        var entries = isState ? guard._state : guard._parameters;
        string suffix = $":{layer.Name}/{name}";
        Entry? sameName = null;
        foreach (var e in entries)
        {
            if (e.Claimed || !e.Key.EndsWith(suffix, StringComparison.Ordinal)) continue;
            if (e.Dimensions.AsSpan().SequenceEqual(shape.Dimensions.AsSpan()))
            {
                e.Claimed = true;
                return;
            }
            sameName ??= e;
        }
        string found = sameName is null ? $"no unclaimed {(isState ? "state" : "parameter")} tensor named '*{suffix}'"
            : $"'{sameName.Key}' with dimensions [{string.Join(", ", sameName.Dimensions)}]";
        throw new ShapeMismatchException(
            $"layer '{layer.Name}' ({layer.TypeName}) would create {(isState ? "state" : "parameter")} '{name}' of dimensions " +
            $"[{string.Join(", ", shape.Dimensions)}], but the saved tensors hold {found}");
    }

    /// <summary>Deactivates the guard (restoring any outer one).</summary>
    public void Dispose() => _current = _previous;
}
