using ConvNet.Gpu.Data;

/// <summary>
/// Writes a small synthetic data set in the CIFAR-10 binary layout: data_batch_1..5.bin and test_batch.bin, each a run
/// of 3,073-byte records (one label byte, then the 32x32 red, green and blue planes, row-major), and batches.meta.txt
/// with one class name per line. Class k is shape k % 5 (square, disc, horizontal bar, vertical bar, plus) in a warm
/// (k &lt; 5) or cool (k &gt;= 5) colour, of random size and position on a noisy background, so that translation and
/// mirroring keep the class, as the augmentation assumes.
/// </summary>
internal static class SyntheticCifar
{
    private static readonly string[] Shapes = ["square", "disc", "horizontal bar", "vertical bar", "plus"];

    /// <summary>Writes the files into <paramref name="folder"/> (created) and returns it.</summary>
    public static string Write(string folder, int perTrainFile, int testCount)
    {
        Directory.CreateDirectory(folder);
        var rng = new Random(2026);
        foreach (var file in Cifar10.TrainFiles) WriteBatch(Path.Combine(folder, file), perTrainFile, rng);
        WriteBatch(Path.Combine(folder, Cifar10.TestFile), testCount, rng);
        File.WriteAllLines(Path.Combine(folder, Cifar10.MetaFile),
            Enumerable.Range(0, 10).Select(k => $"{(k < 5 ? "warm" : "cool")} {Shapes[k % 5]}"));
        return folder;
    }

    private static void WriteBatch(string path, int count, Random rng)
    {
        const int plane = Cifar10.Size * Cifar10.Size;
        var bytes = new byte[count * Cifar10.RecordBytes];
        for (int i = 0; i < count; i++)
        {
            int label = i % 10;
            var record = bytes.AsSpan(i * Cifar10.RecordBytes, Cifar10.RecordBytes);
            record[0] = (byte)label;
            // Colour of the shape: warm classes are red-dominant, cool ones blue-dominant, with some jitter.
            double jitter = rng.NextDouble() * 0.2;
            double[] colour = label < 5 ? [0.85 + jitter * 0.5, 0.35 + jitter, 0.15] : [0.15, 0.35 + jitter, 0.85 + jitter * 0.5];
            int size = rng.Next(8, 15);
            int top = rng.Next(0, Cifar10.Size - size + 1), left = rng.Next(0, Cifar10.Size - size + 1);
            for (int y = 0; y < Cifar10.Size; y++)
                for (int x = 0; x < Cifar10.Size; x++)
                {
                    bool inside = Covers(label % 5, y - top, x - left, size);
                    for (int c = 0; c < Cifar10.Channels; c++)
                    {
                        double v = inside ? colour[c] + rng.NextDouble() * 0.1 : rng.NextDouble() * 0.45;
                        record[1 + c * plane + y * Cifar10.Size + x] = (byte)Math.Clamp((int)Math.Round(v * 255), 0, 255);
                    }
                }
        }
        File.WriteAllBytes(path, bytes);
    }

    // Whether pixel (y, x) of a size x size box belongs to the shape.
    private static bool Covers(int shape, int y, int x, int size)
    {
        if (y < 0 || x < 0 || y >= size || x >= size) return false;
        double cy = y - (size - 1) / 2.0, cx = x - (size - 1) / 2.0, third = size / 3.0;
        return shape switch
        {
            0 => true,
            1 => cy * cy + cx * cx <= size * size / 4.0,
            2 => Math.Abs(cy) < third / 2,
            3 => Math.Abs(cx) < third / 2,
            _ => Math.Abs(cy) < third / 2 || Math.Abs(cx) < third / 2,
        };
    }
}
