using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>The CIFAR-10 binary reader, on batch files the test writes in the real layout.</summary>
public sealed class Cifar10Tests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Record r of file f: label (f + r) % 10; pixel (c, y, x) = (f*31 + r*7 + c*50 + y*3 + x) % 256.
    private static byte Pixel(int f, int r, int c, int y, int x) => (byte)((f * 31 + r * 7 + c * 50 + y * 3 + x) % 256);

    private static byte[] Batch(int f, int records)
    {
        var bytes = new byte[records * Cifar10.RecordBytes];
        for (int r = 0; r < records; r++)
        {
            int o = r * Cifar10.RecordBytes;
            bytes[o] = (byte)((f + r) % 10);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        bytes[o + 1 + c * 1024 + y * 32 + x] = Pixel(f, r, c, y, x);
        }
        return bytes;
    }

    private string WriteSet(string root, int recordsPerFile = 3, bool meta = false)
    {
        Directory.CreateDirectory(root);
        for (int f = 0; f < 5; f++) File.WriteAllBytes(Path.Combine(root, Cifar10.TrainFiles[f]), Batch(f, recordsPerFile));
        File.WriteAllBytes(Path.Combine(root, Cifar10.TestFile), Batch(9, 2));
        if (meta) File.WriteAllLines(Path.Combine(root, Cifar10.MetaFile), Enumerable.Range(0, 10).Select(k => $"class{k}").Append(""));
        return root;
    }

    [Fact]
    public void ReadsTheFiveTrainingBatchesInOrderAndTheTestBatch()
    {
        WriteSet(_dir.File(Cifar10.FolderName));
        var (train, test) = Cifar10.Load(_dir.Path); // the parent of cifar-10-batches-bin works too
        Assert.Equal(15, train.Count);
        Assert.Equal(2, test.Count);
        Assert.Equal([3, 32, 32], train.SampleShape.Dimensions);
        Assert.Equal(["C", "H", "W"], train.SampleShape.Names);
        Assert.Equal(Cifar10.ClassNames, train.ClassNames);
        for (int n = 0; n < 15; n++)
        {
            int f = n / 3, r = n % 3;
            Assert.Equal((f + r) % 10, train.Labels.Span[n]);
            var image = train.GetImage(n).Span;
            foreach (var (c, y, x) in new[] { (0, 0, 0), (1, 5, 7), (2, 31, 31), (2, 0, 31) })
                Assert.Equal(Pixel(f, r, c, y, x) / 255f, image[c * 1024 + y * 32 + x]);
        }
        Assert.Equal(9 % 10, test.Labels.Span[0]);
        Assert.Equal(Pixel(9, 1, 1, 2, 3) / 255f, test.GetImage(1).Span[1024 + 2 * 32 + 3]);
    }

    [Fact]
    public void ClassNamesComeFromTheMetaFile()
    {
        var (train, _) = Cifar10.Load(WriteSet(_dir.File("flat"), meta: true));
        Assert.Equal("class3", train.ClassNames[3]);
    }

    [Fact]
    public void MissingTruncatedAndBadLabelFilesAreNamed()
    {
        string root = WriteSet(_dir.File("set"));
        File.Delete(Path.Combine(root, "data_batch_4.bin"));
        var missing = Assert.Throws<FileNotFoundException>(() => Cifar10.Load(root));
        Assert.Contains("data_batch_4.bin is missing", missing.Message);
        Assert.Contains("data_batch_5.bin", missing.Message); // what the directory holds

        File.WriteAllBytes(Path.Combine(root, "data_batch_4.bin"), Batch(3, 3)[..^5]);
        var truncated = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(root));
        Assert.EndsWith("data_batch_4.bin", truncated.FilePath);
        Assert.Contains("9214 bytes is not a whole, non-zero number of 3073-byte records", truncated.Message);

        var badLabel = Batch(3, 3);
        badLabel[2 * Cifar10.RecordBytes] = 10;
        File.WriteAllBytes(Path.Combine(root, "data_batch_4.bin"), badLabel);
        var label = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(root));
        Assert.Contains("label 10 of record 2 (byte offset 6146) is not in 0..9", label.Message);

        File.WriteAllBytes(Path.Combine(root, "data_batch_4.bin"), new byte[3074 * 2]);
        Assert.Contains("CIFAR-100", Assert.Throws<DatasetFormatException>(() => Cifar10.Load(root)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => Cifar10.Load(_dir.File("nowhere")));
    }

    [Fact]
    public void ReadBatchesReadsAnyFilesAsOneDataset()
    {
        string root = WriteSet(_dir.File("set"));
        var d = Cifar10.ReadBatches([Path.Combine(root, Cifar10.TestFile), Path.Combine(root, "data_batch_2.bin")]);
        Assert.Equal(5, d.Count);
        Assert.Equal([9, 0, 1, 2, 3], d.Labels.ToArray());
    }
}
