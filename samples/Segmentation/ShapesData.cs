/// <summary>
/// Synthetic segmentation data: a 32x32 grey image with one to four shapes (discs and axis-aligned squares of radius
/// 3-7 pixels, brightness 0.6-1.0) on uniform noise in [0, 0.35]; the mask is 1 on the discs' pixels and 0 elsewhere
/// (squares are distractors). Sample i depends only on i, so generation may run in parallel.
/// </summary>
internal static class ShapesData
{
    /// <summary>Image side in pixels (divisible by 4 for a depth-2 U-Net).</summary>
    public const int Side = 32;

    /// <summary>Fills sample <paramref name="index"/>'s image and mask (each Side x Side, row-major).</summary>
    public static void Generate(int index, Span<float> image, Span<float> mask)
    {
        var rng = new Random(index * 7919 + 17);
        for (int p = 0; p < image.Length; p++) image[p] = (float)(rng.NextDouble() * 0.35);
        mask.Clear();
        int shapes = rng.Next(1, 5);
        for (int s = 0; s < shapes; s++)
        {
            bool disc = rng.Next(2) == 0;
            int r = rng.Next(3, 8), cy = rng.Next(r, Side - r), cx = rng.Next(r, Side - r);
            float brightness = (float)(0.6 + rng.NextDouble() * 0.4);
            for (int y = cy - r; y <= cy + r; y++)
                for (int x = cx - r; x <= cx + r; x++)
                {
                    if (disc && (y - cy) * (y - cy) + (x - cx) * (x - cx) > r * r) continue;
                    image[y * Side + x] = brightness;
                    // A later shape covers an earlier one: its pixels belong to it.
                    mask[y * Side + x] = disc ? 1f : 0f;
                }
        }
    }

    /// <summary>Prints the first sample as text: image ('#' bright), mask ('o' disc) and prediction ('o' above 1/2).</summary>
    public static void Print(ReadOnlySpan<float> images, ReadOnlySpan<float> masks, ReadOnlySpan<float> predictions)
    {
        for (int y = 0; y < Side; y += 2)
        {
            var line = new System.Text.StringBuilder();
            for (int x = 0; x < Side; x++) line.Append(images[y * Side + x] > 0.5f ? '#' : '.');
            line.Append("   ");
            for (int x = 0; x < Side; x++) line.Append(masks[y * Side + x] > 0.5f ? 'o' : '.');
            line.Append("   ");
            for (int x = 0; x < Side; x++) line.Append(predictions[y * Side + x] > 0.5f ? 'o' : '.');
            Console.WriteLine(line);
        }
    }
}
