namespace ConvNet.Gpu.Cli.Reporting;

/// <summary>Turns float images and convolution kernels into small PNGs for the report.</summary>
internal static class ImageTiles
{
    /// <summary>A grayscale PNG of pixels in [0, 1] (clamped), as Fashion-MNIST stores them (0 = black background).</summary>
    public static byte[] Image(ReadOnlySpan<float> pixels, int height, int width)
    {
        var bytes = new byte[height * width];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = ToByte(pixels[i]);
        return PngEncoder.EncodeGray(bytes, width, height);
    }

    /// <summary>
    /// A grayscale PNG of one kernel (KH x KW), scaled symmetrically by its largest magnitude so that 0 is mid-gray,
    /// positive weights are light and negative weights dark: the sign of each tap stays readable across filters.
    /// </summary>
    public static byte[] Kernel(ReadOnlySpan<float> weights, int kernelH, int kernelW)
    {
        float maxAbs = 0;
        foreach (float w in weights) maxAbs = Math.Max(maxAbs, Math.Abs(w));
        if (maxAbs == 0 || !float.IsFinite(maxAbs)) maxAbs = 1;
        var bytes = new byte[kernelH * kernelW];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = ToByte(0.5f + 0.5f * weights[i] / maxAbs);
        return PngEncoder.EncodeGray(bytes, kernelW, kernelH);
    }

    /// <summary>A grayscale PNG of a feature map scaled from its own minimum (black) to its maximum (white).</summary>
    public static byte[] Response(ReadOnlySpan<float> map, int height, int width)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in map)
        {
            if (!float.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        float range = max > min ? max - min : 1;
        var bytes = new byte[height * width];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = ToByte((map[i] - min) / range);
        return PngEncoder.EncodeGray(bytes, width, height);
    }

    private static byte ToByte(float v) =>
        float.IsFinite(v) ? (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255) : (byte)0;
}
