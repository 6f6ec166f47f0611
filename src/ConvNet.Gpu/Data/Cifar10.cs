namespace ConvNet.Gpu.Data;

/// <summary>
/// Loads CIFAR-10 in its binary format (the "CIFAR-10 binary version" from https://www.cs.toronto.edu/~kriz/cifar.html,
/// which unpacks to <c>cifar-10-batches-bin/</c>): five training files <c>data_batch_1.bin</c> ... <c>data_batch_5.bin</c>
/// and <c>test_batch.bin</c>, each a run of 3,073-byte records (10,000 in the real files): one label byte (0-9), then the
/// 32×32 red plane, the green plane and the blue plane, each row-major (1,024 bytes). Samples are (C=3, H=32, W=32),
/// pixels scaled to [0, 1] as byte / 255. Class names come from <c>batches.meta.txt</c> when present (one per line).
/// </summary>
public static class Cifar10
{
    /// <summary>Image side in pixels.</summary>
    public const int Size = 32;

    /// <summary>Colour planes (red, green, blue).</summary>
    public const int Channels = 3;

    /// <summary>Bytes per record: 1 label byte and 3 × 32 × 32 pixel bytes.</summary>
    public const int RecordBytes = 1 + Channels * Size * Size;

    /// <summary>The folder the official archive unpacks to.</summary>
    public const string FolderName = "cifar-10-batches-bin";

    /// <summary>The training files, in the order their samples are concatenated.</summary>
    public static IReadOnlyList<string> TrainFiles { get; } =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

    /// <summary>The test file.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>The class-name file (optional).</summary>
    public const string MetaFile = "batches.meta.txt";

    /// <summary>The ten class names of CIFAR-10, indexed by label (used when <see cref="MetaFile"/> is absent).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// Loads the training set (the five data batches, in order) and the test set from <paramref name="directory"/>, which
    /// holds the .bin files or the <see cref="FolderName"/> folder with them.
    /// </summary>
    /// <exception cref="FileNotFoundException">A batch file is missing (the message lists what the directory holds).</exception>
    /// <exception cref="DatasetFormatException">A file is not a whole number of records, is empty, or has a label outside 0..9; or the meta file does not list ten names.</exception>
    public static (Dataset Train, Dataset Test) Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string dir = Resolve(directory);
        var names = ReadClassNames(dir);
        var train = ReadBatches(TrainFiles.Select(f => Path.Combine(dir, f)).ToArray(), names, Path.Combine(dir, "data_batch_[1-5].bin"));
        var test = ReadBatches([Path.Combine(dir, TestFile)], names, Path.Combine(dir, TestFile));
        return (train, test);
    }

    /// <summary>Reads one or more batch files (concatenated in the given order) as one dataset.</summary>
    /// <param name="paths">Binary batch files.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="DatasetFormatException">A file is malformed.</exception>
    public static Dataset ReadBatches(IReadOnlyList<string> paths) =>
        ReadBatches(paths ?? throw new ArgumentNullException(nameof(paths)), ClassNames, string.Join(", ", paths));

    private static Dataset ReadBatches(IReadOnlyList<string> paths, IReadOnlyList<string> classNames, string source)
    {
        if (paths.Count == 0) throw new ConvNetArgumentException("Cifar10.ReadBatches needs at least one file.", nameof(paths));
        var files = new byte[paths.Count][];
        long records = 0;
        for (int f = 0; f < paths.Count; f++)
        {
            if (!File.Exists(paths[f]))
                throw new FileNotFoundException($"CIFAR-10 batch file {paths[f]} is missing{Listing(Path.GetDirectoryName(paths[f]))}.", paths[f]);
            files[f] = File.ReadAllBytes(paths[f]);
            if (files[f].Length == 0 || files[f].Length % RecordBytes != 0)
                throw new DatasetFormatException(paths[f],
                    $"{files[f].Length} bytes is not a whole, non-zero number of {RecordBytes}-byte records (1 label byte + 3 x 32 x 32 pixels); " +
                    $"the file is truncated or not in the CIFAR-10 binary format{(files[f].Length % 3074 == 0 ? " (it looks like CIFAR-100, whose records have two label bytes)" : "")}.");
            records += files[f].Length / RecordBytes;
        }

        const int pixels = Channels * Size * Size;
        var images = new float[checked(records * pixels)];
        var labels = new int[records];
        int n = 0;
        for (int f = 0; f < files.Length; f++)
        {
            byte[] bytes = files[f];
            for (int r = 0; r < bytes.Length / RecordBytes; r++, n++)
            {
                int offset = r * RecordBytes;
                int label = bytes[offset];
                if (label >= classNames.Count)
                    throw new DatasetFormatException(paths[f], $"label {label} of record {r} (byte offset {offset}) is not in 0..{classNames.Count - 1}.");
                labels[n] = label;
                // The record's planes are already in C, H, W order: copy them through the [0, 1] scaling.
                PixelScaling.ToUnitRange(bytes.AsSpan(offset + 1, pixels), images.AsSpan(n * pixels, pixels));
            }
        }
        return new Dataset(images, labels, new TensorShape([Channels, Size, Size], ["C", "H", "W"]), classNames, source);
    }

    // The directory with the .bin files: the given one, or its cifar-10-batches-bin sub-folder.
    private static string Resolve(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"CIFAR-10 directory {directory} does not exist.");
        string nested = Path.Combine(directory, FolderName);
        return !File.Exists(Path.Combine(directory, TestFile)) && Directory.Exists(nested) ? nested : directory;
    }

    private static IReadOnlyList<string> ReadClassNames(string dir)
    {
        string meta = Path.Combine(dir, MetaFile);
        if (!File.Exists(meta)) return ClassNames;
        var names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != 10)
            throw new DatasetFormatException(meta, $"lists {names.Length} class names; CIFAR-10 has 10.");
        return names;
    }

    private static string Listing(string? directory)
    {
        if (directory is null || !Directory.Exists(directory)) return "";
        var entries = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(12).ToArray();
        return entries.Length == 0 ? " (the directory is empty)" : $" (the directory holds {string.Join(", ", entries)})";
    }
}
