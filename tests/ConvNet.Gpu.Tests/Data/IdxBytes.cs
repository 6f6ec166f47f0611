using System.IO.Compression;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>
/// Builds IDX files byte by byte, independently of the reader under test: magic 00 00 type rank, big-endian u32
/// dimensions, then the data; optionally gzip-compressed.
/// </summary>
public static class IdxBytes
{
    public static byte[] Build(byte dataType, int[] dims, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, dataType, (byte)dims.Length };
        foreach (int d in dims)
        {
            bytes.Add((byte)(d >> 24));
            bytes.Add((byte)(d >> 16));
            bytes.Add((byte)(d >> 8));
            bytes.Add((byte)d);
        }
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static byte[] Images(int count, int rows, int cols, byte[] pixels) => Build(0x08, [count, rows, cols], pixels);

    public static byte[] Labels(byte[] labels) => Build(0x08, [labels.Length], labels);

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return output.ToArray();
    }

    /// <summary>Deterministic pseudo-random bytes (a linear congruential generator), so tests never run on zeros.</summary>
    public static byte[] Pattern(int length, int seed, int modulo = 256)
    {
        var data = new byte[length];
        uint x = (uint)seed * 2654435761u + 12345;
        for (int i = 0; i < length; i++)
        {
            x = x * 1664525u + 1013904223u;
            data[i] = (byte)((x >> 24) % (uint)modulo);
        }
        return data;
    }

    /// <summary>
    /// Writes a Fashion-MNIST-style directory: the four files (gz or raw, per flag) with the given counts of
    /// rows × cols images and labels 0..9. Returns the pixel and label bytes written, train then test.
    /// </summary>
    public static (byte[] TrainPixels, byte[] TrainLabels, byte[] TestPixels, byte[] TestLabels) WriteDataset(
        string directory, int trainCount, int testCount, int rows, int cols, bool gzip)
    {
        var trainPixels = Pattern(trainCount * rows * cols, 1);
        var trainLabels = Pattern(trainCount, 2, 10);
        var testPixels = Pattern(testCount * rows * cols, 3);
        var testLabels = Pattern(testCount, 4, 10);
        string ext = gzip ? ".gz" : "";
        Write(Path.Combine(directory, "train-images-idx3-ubyte" + ext), Images(trainCount, rows, cols, trainPixels), gzip);
        Write(Path.Combine(directory, "train-labels-idx1-ubyte" + ext), Labels(trainLabels), gzip);
        Write(Path.Combine(directory, "t10k-images-idx3-ubyte" + ext), Images(testCount, rows, cols, testPixels), gzip);
        Write(Path.Combine(directory, "t10k-labels-idx1-ubyte" + ext), Labels(testLabels), gzip);
        return (trainPixels, trainLabels, testPixels, testLabels);
    }

    public static void Write(string path, byte[] raw, bool gzip) => File.WriteAllBytes(path, gzip ? Gzip(raw) : raw);
}
