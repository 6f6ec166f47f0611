/// <summary>Writes grey-scale images as one binary PGM (P5) file: originals on the top row, their reconstructions below.</summary>
internal static class Pgm
{
    /// <summary>
    /// Writes the first <paramref name="count"/> images of <paramref name="top"/> and <paramref name="bottom"/> (each
    /// side x side pixels in [0, 1], row-major, one after the other) side by side, with a 2-pixel gap.
    /// </summary>
    public static void WritePairs(string path, ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, int count, int side)
    {
        const int gap = 2;
        int width = count * (side + gap) - gap, height = 2 * side + gap;
        var pixels = new byte[width * height];
        for (int k = 0; k < count; k++)
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    int column = k * (side + gap) + x, source = k * side * side + y * side + x;
                    pixels[y * width + column] = ToByte(top[source]);
                    pixels[(y + side + gap) * width + column] = ToByte(bottom[source]);
                }
        using var file = File.Create(path);
        file.Write(System.Text.Encoding.ASCII.GetBytes($"P5\n{width} {height}\n255\n"));
        file.Write(pixels);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
}
