namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>Which per-worker buffer of a <see cref="ConvWorkspace"/> to use.</summary>
internal enum WorkspaceLane
{
    /// <summary>im2col columns (or their gradient) for one sample: C*KH*KW x OH*OW floats.</summary>
    Columns,

    /// <summary>One chunk of samples' partial weight gradient, summed in chunk order at the end of the backward-weights pass.</summary>
    WeightPartial,
}

/// <summary>
/// Scratch memory for the convolutions: one growable, pinned, 64-byte-aligned buffer per (slot, lane). A parallel
/// op gives each of its workers (or each chunk of samples) a distinct slot, so no two threads share a buffer. Buffers only grow and are reused by
/// every later call, so steady-state training allocates nothing. The workspace (like the backend) is not meant for
/// concurrent calls from several user threads: two ops running at once on one backend could share a slot.
/// </summary>
internal sealed unsafe class ConvWorkspace
{
    private static readonly int LaneCount = Enum.GetValues<WorkspaceLane>().Length;
    private readonly Lock _grow = new();
    private float[]?[] _buffers = new float[]?[LaneCount * 4]; // index slot * LaneCount + lane

    /// <summary>Makes sure slots [0, <paramref name="slots"/>) exist; call before a parallel region uses them.</summary>
    public void EnsureSlots(int slots)
    {
        if (_buffers.Length >= slots * LaneCount) return;
        lock (_grow)
        {
            if (_buffers.Length >= slots * LaneCount) return;
            var bigger = new float[]?[slots * LaneCount];
            _buffers.CopyTo(bigger, 0);
            _buffers = bigger;
        }
    }

    /// <summary>Bytes currently held.</summary>
    public long Bytes
    {
        get
        {
            long total = 0;
            foreach (var b in _buffers) total += (long)(b?.Length ?? 0) * sizeof(float);
            return total;
        }
    }

    /// <summary>
    /// An aligned buffer of at least <paramref name="floats"/> elements for <paramref name="slot"/> (contents undefined;
    /// the slot must exist, see <see cref="EnsureSlots"/>).
    /// </summary>
    public float* Get(int slot, WorkspaceLane lane, long floats)
    {
        ref float[]? buffer = ref _buffers[slot * LaneCount + (int)lane];
        if (buffer is null || buffer.Length < floats + 16)
        {
            if (floats + 16 > Array.MaxLength)
                throw new ConvNetArgumentException($"convolution workspace of {floats} floats exceeds the CPU array limit {Array.MaxLength}.");
            buffer = GC.AllocateUninitializedArray<float>((int)(floats + 16), pinned: true);
        }
        fixed (float* p = buffer) // pinned: the address stays valid after the fixed block
            return (float*)(((nint)p + 63) & ~(nint)63);
    }
}
