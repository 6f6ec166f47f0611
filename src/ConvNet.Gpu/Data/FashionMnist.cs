namespace ConvNet.Gpu.Data;

/// <summary>
/// Loads Fashion-MNIST (Zalando's 28×28 grey-scale clothing images, 10 classes, 60,000 training and 10,000 test
/// samples) or MNIST-format data from any directory holding the four IDX files, raw or gzip-compressed
/// (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz];
/// the names with a dot, e.g. train-images.idx3-ubyte, are accepted too). Pixels are scaled to [0, 1] as byte / 255.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The environment variable naming a data directory, checked after an explicit directory.</summary>
    public const string EnvironmentVariable = "CONVNET_DATA";

    /// <summary>Training image file name, without the optional ".gz".</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";

    /// <summary>Training label file name, without the optional ".gz".</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";

    /// <summary>Test image file name, without the optional ".gz".</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>Test label file name, without the optional ".gz".</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    private static readonly string[] FileNames = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>The ten class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Loads the training and test sets from <paramref name="directory"/> (the two are read concurrently).</summary>
    /// <param name="directory">A directory with the four IDX files, raw or .gz.</param>
    /// <exception cref="FileNotFoundException">One of the four files is missing.</exception>
    /// <exception cref="IdxFormatException">A file is truncated or malformed, image and label counts differ, or a label is not in 0..9.</exception>
    public static (Dataset Train, Dataset Test) Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var test = Task.Run(() => LoadTest(directory));
        Dataset train;
        try
        {
            train = LoadTrain(directory);
        }
        catch
        {
            // Report the training-set error; still wait for the test-set task so its outcome is observed.
            try { test.Wait(); } catch (AggregateException) { }
            throw;
        }
        Dataset testSet = test.GetAwaiter().GetResult();
        if (!train.SampleShape.Equals(testSet.SampleShape))
            throw new IdxFormatException(testSet.Source,
                $"test images are {testSet.SampleShape} but training images ({train.Source}) are {train.SampleShape}; the two sets do not belong together.");
        return (train, testSet);
    }

    /// <summary>Loads the 60,000-sample training set from <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="IdxFormatException">A file is truncated or malformed, or the two files do not match.</exception>
    public static Dataset LoadTrain(string directory) =>
        LoadPair(RequireFile(directory, TrainImagesFile), RequireFile(directory, TrainLabelsFile));

    /// <summary>Loads the 10,000-sample test set from <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="IdxFormatException">A file is truncated or malformed, or the two files do not match.</exception>
    public static Dataset LoadTest(string directory) =>
        LoadPair(RequireFile(directory, TestImagesFile), RequireFile(directory, TestLabelsFile));

    /// <summary>
    /// Loads one images/labels pair of IDX files as a dataset with the Fashion-MNIST class names
    /// (any 10-class MNIST-format data works, e.g. MNIST digits).
    /// </summary>
    /// <param name="imagesPath">A rank-3 unsigned-byte IDX file (count, rows, columns).</param>
    /// <param name="labelsPath">A rank-1 unsigned-byte IDX file (count) of labels 0..9.</param>
    /// <exception cref="IdxFormatException">A file is truncated or malformed, the counts differ, or a label is out of range.</exception>
    public static Dataset LoadPair(string imagesPath, string labelsPath)
    {
        IdxArray images = IdxReader.ReadImages(imagesPath);
        IdxArray labels = IdxReader.ReadLabels(labelsPath);
        int count = images.Dimensions[0];
        if (count != labels.Dimensions[0])
            throw new IdxFormatException(labelsPath,
                $"image count {count} (in {imagesPath}) != label count {labels.Dimensions[0]}; the two files do not belong together.");

        var labelValues = new int[count];
        byte[] rawLabels = labels.Data;
        for (int i = 0; i < count; i++)
        {
            byte label = rawLabels[i];
            if (label >= ClassNames.Count)
                throw new IdxFormatException(labelsPath,
                    $"label {label} out of range for {ClassNames.Count} classes at sample {i} (byte {8 + i} of the file's decompressed content).");
            labelValues[i] = label;
        }

        float[] pixels = PixelScaling.ToUnitRange(images.Data);
        var sampleShape = new TensorShape([1, images.Dimensions[1], images.Dimensions[2]], ["C", "H", "W"]);
        return new Dataset(pixels, labelValues, sampleShape, ClassNames, imagesPath);
    }

    /// <summary>
    /// Finds a usable data directory: <paramref name="explicitDirectory"/> (e.g. a --data option) when given, else
    /// $CONVNET_DATA when set, else <see cref="DefaultDirectory"/>. The first one that is specified is the one checked:
    /// a wrong --data or $CONVNET_DATA is reported, not silently replaced by the default.
    /// </summary>
    /// <param name="explicitDirectory">A directory the user named explicitly, or null.</param>
    /// <param name="directory">The directory found, or null.</param>
    /// <param name="reason">On success, where the directory came from; on failure, why nothing usable was found and how to fix it.</param>
    /// <returns>Whether a directory holding all four files was found.</returns>
    public static bool TryFind(string? explicitDirectory, out string? directory, out string reason) =>
        TryFind(explicitDirectory, Environment.GetEnvironmentVariable(EnvironmentVariable), DefaultDirectory, out directory, out reason);

    /// <summary><see cref="TryFind(string?, out string?, out string)"/> with the environment value and default given (for tests).</summary>
    internal static bool TryFind(string? explicitDirectory, string? environmentValue, string defaultDirectory,
        out string? directory, out string reason)
    {
        (string candidate, string origin) =
            !string.IsNullOrWhiteSpace(explicitDirectory) ? (explicitDirectory, "the given data directory") :
            !string.IsNullOrWhiteSpace(environmentValue) ? (environmentValue, $"${EnvironmentVariable}") :
            (defaultDirectory, "the default location");

        if (!Directory.Exists(candidate))
        {
            directory = null;
            reason = origin == "the default location"
                ? $"Fashion-MNIST was not found: no data directory was given, ${EnvironmentVariable} is not set, and {defaultDirectory} does not exist " +
                  "(install Debian's dataset-fashion-mnist package, or pass a directory holding the four IDX files)."
                : $"Fashion-MNIST was not found: {candidate} (from {origin}) does not exist.";
            return false;
        }

        try
        {
            // File.Exists says "no" for a file it may not look at; list the directory so that a permission problem says so.
            _ = Directory.EnumerateFileSystemEntries(candidate).FirstOrDefault();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            directory = null;
            reason = $"Fashion-MNIST cannot be read: {candidate} (from {origin}) exists but cannot be listed ({e.Message}); check its permissions.";
            return false;
        }

        var missing = FileNames.Where(name => FindFile(candidate, name) is null).ToArray();
        if (missing.Length > 0)
        {
            directory = null;
            reason = $"Fashion-MNIST was not found: {candidate} (from {origin}) lacks {string.Join(", ", missing.Select(m => m + "[.gz]"))}.";
            return false;
        }

        directory = candidate;
        reason = $"{candidate} (from {origin})";
        return true;
    }

    /// <summary>
    /// The path of <paramref name="baseName"/> in <paramref name="directory"/>: the .gz file if present, else the raw
    /// file, else the same two with the MNIST website's dotted name (train-images.idx3-ubyte); null when none exists.
    /// </summary>
    public static string? FindFile(string directory, string baseName)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(baseName);
        string dotted = DottedName(baseName);
        foreach (string name in new[] { baseName + ".gz", baseName, dotted + ".gz", dotted })
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    private static string RequireFile(string directory, string baseName) =>
        FindFile(directory, baseName)
        ?? throw new FileNotFoundException(
            $"{Path.Combine(directory, baseName)}[.gz]: file not found (a Fashion-MNIST directory holds {string.Join(", ", FileNames)}, each raw or .gz).",
            Path.Combine(directory, baseName));

    // "train-images-idx3-ubyte" -> "train-images.idx3-ubyte"
    private static string DottedName(string baseName)
    {
        int idx = baseName.IndexOf("-idx", StringComparison.Ordinal);
        return idx < 0 ? baseName : baseName[..idx] + "." + baseName[(idx + 1)..];
    }
}
