using ConvNet.Gpu.Data;
using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// A small learnable image set: class k of 3 has a bright 3x3 square in a class-specific corner of an 8x8 image, plus
/// seeded noise. A few epochs of training separate it well.
/// </summary>
internal static class SyntheticData
{
    public static Dataset Squares(int count, ulong seed, int size = 8)
    {
        var r = new HostRandom(seed);
        var images = new float[count * size * size];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int k = n % 3;
            labels[n] = k;
            int oy = k == 2 ? size - 4 : 1, ox = k == 1 ? size - 4 : 1;
            var img = images.AsSpan(n * size * size, size * size);
            for (int i = 0; i < img.Length; i++) img[i] = r.NextUniform(0f, 0.3f);
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++)
                    img[(oy + y) * size + ox + x] += 0.7f;
        }
        return new Dataset(images, labels, new TensorShape([1, size, size], ["C", "H", "W"]), ["top-left", "top-right", "bottom-left"], "synthetic squares");
    }
}
