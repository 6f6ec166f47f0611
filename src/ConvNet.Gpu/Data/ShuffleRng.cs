namespace ConvNet.Gpu.Data;

/// <summary>
/// The generator behind <see cref="DataLoader"/>'s shuffles: SplitMix64 (Steele, Lea and Flood 2014) started from a
/// state derived from (seed, epoch) alone, with Lemire's unbiased bounded integers. Deterministic on every platform,
/// so an epoch's order can be regenerated when training resumes.
/// </summary>
internal struct ShuffleRng
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    /// <summary>A generator for one (seed, epoch) pair; distinct epochs give unrelated streams.</summary>
    public ShuffleRng(ulong seed, int epoch)
    {
        // Hash the seed, then the epoch into it, so seed s epoch e+1 does not equal seed s+gamma epoch e.
        _state = Mix(Mix(seed) ^ ((ulong)(uint)epoch * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL));
    }

    /// <summary>A generator whose raw SplitMix64 state is <paramref name="state"/> (for checking against published test vectors).</summary>
    internal static ShuffleRng FromState(ulong state) => new() { _state = state };

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        _state += Gamma;
        return Mix(_state);
    }

    /// <summary>A uniform integer in [0, bound) without modulo bias (Lemire 2019, "Fast random integer generation in an interval").</summary>
    public int NextBelow(int bound)
    {
        ulong range = (ulong)bound;
        ulong high = Math.BigMul(NextUInt64(), range, out ulong low);
        if (low < range)
        {
            ulong threshold = (0UL - range) % range;
            while (low < threshold)
                high = Math.BigMul(NextUInt64(), range, out low);
        }
        return (int)high;
    }

    /// <summary>Fisher–Yates shuffle of <paramref name="items"/> in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextBelow(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
