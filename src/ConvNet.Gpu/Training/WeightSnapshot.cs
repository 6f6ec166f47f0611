using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Training;

/// <summary>
/// A host copy of a model's parameters and non-trainable state (in <see cref="Model.NamedParameters"/> and
/// <see cref="Model.NamedState"/> order), to put back later into the same model. Taking one downloads every tensor
/// (blocking); the arrays are reused by the next snapshot of the same model.
/// </summary>
internal sealed class WeightSnapshot
{
    private readonly float[][] _parameters, _state;

    private WeightSnapshot(float[][] parameters, float[][] state)
    {
        _parameters = parameters;
        _state = state;
    }

    /// <summary>Copies the model's tensors, into <paramref name="reuse"/>'s arrays when it has the same layout.</summary>
    public static WeightSnapshot Take(Model model, WeightSnapshot? reuse)
    {
        var parameters = model.NamedParameters;
        var state = model.NamedState;
        var snapshot = reuse is not null && reuse._parameters.Length == parameters.Count && reuse._state.Length == state.Count
            ? reuse
            : new WeightSnapshot(new float[parameters.Count][], new float[state.Count][]);
        for (int i = 0; i < parameters.Count; i++) Copy(parameters[i].Parameter.Value, ref snapshot._parameters[i]);
        for (int i = 0; i < state.Count; i++) Copy(state[i].State.Value, ref snapshot._state[i]);
        return snapshot;
    }

    /// <summary>Uploads the copies back into the model the snapshot was taken of.</summary>
    /// <exception cref="InvalidOperationException">The model's layout changed since.</exception>
    public void Restore(Model model)
    {
        var parameters = model.NamedParameters;
        var state = model.NamedState;
        if (parameters.Count != _parameters.Length || state.Count != _state.Length)
            throw new InvalidOperationException($"Model '{model.Name}' no longer has the parameters the weight snapshot was taken of.");
        for (int i = 0; i < parameters.Count; i++) parameters[i].Parameter.Value.Upload(_parameters[i]);
        for (int i = 0; i < state.Count; i++) state[i].State.Value.Upload(_state[i]);
    }

    private static void Copy(Tensor t, ref float[] host)
    {
        if (host is null || host.Length != t.ElementCount) host = new float[t.ElementCount];
        t.Download(host);
    }
}
