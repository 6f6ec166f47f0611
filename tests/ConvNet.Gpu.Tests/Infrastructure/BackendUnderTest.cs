namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// The backend a suite tests, and how its results are judged. Suites receive one through their constructor (never a
/// static), so one abstract suite runs once per backend:
/// <list type="bullet">
/// <item>every result is compared with the float64 reference under <see cref="VsFloat64"/>;</item>
/// <item>when <see cref="ReferenceBackend"/> is set (the CPU backend, for CUDA), the same op also runs there on the same
/// inputs and the two results are compared under <see cref="VsReferenceBackend"/> (testing.md, "CPU vs CUDA").</item>
/// </list>
/// Exact ops (<see cref="OpKind.Exact"/>) always use 0/0, whatever the tolerances say.
/// </summary>
public sealed class BackendUnderTest : IDisposable
{
    private readonly bool _ownsBackends;

    /// <summary>Wraps <paramref name="backend"/>; <paramref name="ownsBackends"/> disposes it (and the reference backend) with this object.</summary>
    public BackendUnderTest(IBackend backend, IBackend? referenceBackend, Func<OpKind, Tolerance> vsFloat64,
        Func<OpKind, Tolerance>? vsReferenceBackend, bool ownsBackends)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(vsFloat64);
        if (referenceBackend is not null && vsReferenceBackend is null)
            throw new ArgumentException("A reference backend needs its tolerance.", nameof(vsReferenceBackend));
        Backend = backend;
        ReferenceBackend = referenceBackend;
        _vsFloat64 = vsFloat64;
        _vsReference = vsReferenceBackend;
        _ownsBackends = ownsBackends;
    }

    private readonly Func<OpKind, Tolerance> _vsFloat64;
    private readonly Func<OpKind, Tolerance>? _vsReference;

    /// <summary>The backend whose ops are under test.</summary>
    public IBackend Backend { get; }

    /// <summary>A trusted backend that runs the same ops for comparison (CpuBackend for CUDA), or null.</summary>
    public IBackend? ReferenceBackend { get; }

    /// <summary>Display name, e.g. "CPU" or "CUDA (emulated)".</summary>
    public string Name => Backend.Name;

    /// <summary>Tolerance of this backend's float32 result against the float64 reference.</summary>
    public Tolerance VsFloat64(OpKind kind) => kind == OpKind.Exact ? Tolerance.Exact : _vsFloat64(kind);

    /// <summary>Tolerance of this backend's result against <see cref="ReferenceBackend"/>'s.</summary>
    public Tolerance VsReferenceBackend(OpKind kind) =>
        kind == OpKind.Exact ? Tolerance.Exact : (_vsReference ?? throw new InvalidOperationException("No reference backend."))(kind);

    /// <summary>Disposes the backends when this object owns them.</summary>
    public void Dispose()
    {
        if (!_ownsBackends) return;
        Backend.Dispose();
        ReferenceBackend?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
