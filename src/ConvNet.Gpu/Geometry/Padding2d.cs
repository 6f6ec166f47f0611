namespace ConvNet.Gpu;

/// <summary>How a convolution pads its input.</summary>
public enum PaddingMode
{
    /// <summary>No padding ("valid"): the output shrinks by the effective kernel size minus one.</summary>
    Valid,

    /// <summary>
    /// "Same": output size = ceil(input / stride). The total padding (effective kernel - 1 at stride 1) is split
    /// with the extra row/column at the bottom/right when it is odd; for odd kernels and stride 1 this is p = floor(k/2).
    /// </summary>
    Same,

    /// <summary>"Full": p = effective kernel - 1 on every side, so every partial overlap produces an output.</summary>
    Full,

    /// <summary>Explicit per-side padding given by <see cref="Padding2d.Top"/>, <see cref="Padding2d.Bottom"/>, <see cref="Padding2d.Left"/>, <see cref="Padding2d.Right"/>.</summary>
    Explicit,
}

/// <summary>Padding of a 2-D convolution: a mode, or explicit amounts per side.</summary>
public readonly record struct Padding2d
{
    /// <summary>The padding mode.</summary>
    public PaddingMode Mode { get; }

    /// <summary>Rows of zeros above the input (explicit mode).</summary>
    public int Top { get; }

    /// <summary>Rows of zeros below the input (explicit mode).</summary>
    public int Bottom { get; }

    /// <summary>Columns of zeros left of the input (explicit mode).</summary>
    public int Left { get; }

    /// <summary>Columns of zeros right of the input (explicit mode).</summary>
    public int Right { get; }

    private Padding2d(PaddingMode mode, int top, int bottom, int left, int right)
    {
        Mode = mode; Top = top; Bottom = bottom; Left = left; Right = right;
    }

    /// <summary>No padding.</summary>
    public static Padding2d Valid => new(PaddingMode.Valid, 0, 0, 0, 0);

    /// <summary>Output size ceil(input / stride).</summary>
    public static Padding2d Same => new(PaddingMode.Same, 0, 0, 0, 0);

    /// <summary>Effective kernel - 1 on every side.</summary>
    public static Padding2d Full => new(PaddingMode.Full, 0, 0, 0, 0);

    /// <summary>The same padding <paramref name="p"/> on every side.</summary>
    public static Padding2d Symmetric(int p) => Explicit(p, p, p, p);

    /// <summary><paramref name="ph"/> rows above and below, <paramref name="pw"/> columns left and right.</summary>
    public static Padding2d Symmetric(int ph, int pw) => Explicit(ph, ph, pw, pw);

    /// <summary>Explicit per-side padding. Negative values raise <see cref="InvalidGeometryException"/>.</summary>
    public static Padding2d Explicit(int top, int bottom, int left, int right)
    {
        if (top < 0 || bottom < 0 || left < 0 || right < 0)
            throw new InvalidGeometryException(
                $"negative padding is not supported: got padding (top={top}, bottom={bottom}, left={left}, right={right}).");
        return new(PaddingMode.Explicit, top, bottom, left, right);
    }

    /// <summary>Formats the mode, or the four explicit amounts.</summary>
    public override string ToString() =>
        Mode == PaddingMode.Explicit ? $"(top={Top}, bottom={Bottom}, left={Left}, right={Right})" : Mode.ToString();
}
