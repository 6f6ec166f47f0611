using System.Collections.Concurrent;

namespace ConvNet.Gpu.Backends.Cpu.Gemm;

/// <summary>
/// Packing buffers for one SGEMM worker: a packed A block, a packed B block and an edge tile, 64-byte aligned inside pinned arrays.
/// Workers rent one from a small process-wide pool for the duration of a call and return it, so steady-state GEMMs
/// allocate nothing; buffers only grow.
/// </summary>
internal sealed unsafe class SgemmScratch
{
    private static readonly ConcurrentBag<SgemmScratch> Pool = new();
    private static int _pooled; // ConcurrentBag.Count takes every per-thread lock, so the size is tracked here

    private float[] _a = [];
    private float[] _b = [];
    private float[] _tile = [];

    /// <summary>Takes a scratch from the pool (or makes one).</summary>
    public static SgemmScratch Rent()
    {
        if (!Pool.TryTake(out var s)) return new SgemmScratch();
        Interlocked.Decrement(ref _pooled);
        return s;
    }

    /// <summary>Gives a scratch back for reuse.</summary>
    public static void Return(SgemmScratch scratch)
    {
        // The pool never needs more than a few per core; extra ones are left to the GC.
        if (Interlocked.Increment(ref _pooled) <= 4 * Environment.ProcessorCount) Pool.Add(scratch);
        else Interlocked.Decrement(ref _pooled);
    }

    /// <summary>An aligned A buffer of at least <paramref name="floats"/> elements.</summary>
    public float* A(long floats) => Aligned(ref _a, floats);

    /// <summary>An aligned B buffer of at least <paramref name="floats"/> elements.</summary>
    public float* B(long floats) => Aligned(ref _b, floats);

    /// <summary>An aligned micro-tile buffer of at least <paramref name="floats"/> elements.</summary>
    public float* Tile(long floats) => Aligned(ref _tile, floats);

    private static float* Aligned(ref float[] buffer, long floats)
    {
        if (buffer.Length < floats + 16)
            buffer = GC.AllocateUninitializedArray<float>(checked((int)(floats + 16)), pinned: true);
        fixed (float* p = buffer) // pinned array: the address stays valid after the fixed block
            return (float*)(((nint)p + 63) & ~(nint)63);
    }
}
