namespace ConvNet.Gpu;

/// <summary>
/// The counter-based generator behind dropout, shared bit for bit by every backend and by the CUDA
/// kernel (kernels/dropout.cu): a SplitMix64 finalizer of seed + (counter + 1) * golden gamma, whose top
/// 24 bits give a float in [0, 1). Stateless, so a mask depends only on (seed, offset + i).
/// </summary>
public static class DropoutRng
{
    /// <summary>Uniform float in [0, 1) for one counter value.</summary>
    public static float Uniform(ulong seed, ulong counter)
    {
        ulong z = seed + (counter + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1.0f / 16777216.0f);
    }

    /// <summary>Encodes (seed, offset) into the 4 Int32 words that <see cref="IBackend.DropoutForward(Tensor, Tensor, Tensor, float, Tensor)"/> reads.</summary>
    public static void WriteSeedAndOffset(Span<int> words, ulong seed, ulong offset)
    {
        if (words.Length != 4) throw new ArgumentException($"Seed and offset need 4 words, got {words.Length}.", nameof(words));
        words[0] = unchecked((int)seed);
        words[1] = unchecked((int)(seed >> 32));
        words[2] = unchecked((int)offset);
        words[3] = unchecked((int)(offset >> 32));
    }

    /// <summary>Decodes what <see cref="WriteSeedAndOffset"/> wrote.</summary>
    public static (ulong Seed, ulong Offset) ReadSeedAndOffset(ReadOnlySpan<int> words)
    {
        if (words.Length != 4) throw new ArgumentException($"Seed and offset need 4 words, got {words.Length}.", nameof(words));
        return ((uint)words[0] | ((ulong)(uint)words[1] << 32), (uint)words[2] | ((ulong)(uint)words[3] << 32));
    }
}
