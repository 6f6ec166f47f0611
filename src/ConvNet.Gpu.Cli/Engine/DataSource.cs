using System.Reflection;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Data;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>The data a command works on, and where it came from.</summary>
/// <param name="Train">Training set (already cut to --limit).</param>
/// <param name="Test">Test set (already cut to --limit).</param>
/// <param name="Description">Where the data came from, for the log and metrics.json.</param>
/// <param name="IsEmbeddedSample">True when the small sample built into the tool is used.</param>
internal sealed record LoadedData(Dataset Train, Dataset Test, string Description, bool IsEmbeddedSample);

/// <summary>
/// Finds and loads Fashion-MNIST: --data, then $CONVNET_DATA, then /usr/share/datasets/fashion-mnist; when none is
/// given and none is installed, the sample embedded in the tool (with a note on how to get the full set). A directory
/// that was named explicitly but is unusable is an error (exit code 3), never silently replaced.
/// </summary>
internal static class DataSource
{
    /// <summary>Prefix of the embedded IDX files' resource names (see the .csproj).</summary>
    private const string ResourcePrefix = "fashion-mnist-sample/";

    /// <summary>How to get the full dataset, for notes and errors.</summary>
    public const string HowToInstall =
        "install the full dataset with `apt-get install dataset-fashion-mnist` (it goes to /usr/share/datasets/fashion-mnist), "
        + "or pass --data DIR / set $CONVNET_DATA to a directory with the four IDX files";

    /// <summary>Resolves and loads the data for a command.</summary>
    /// <param name="dataOption">The --data value, or null.</param>
    /// <param name="useSample">--sample: use the embedded sample even when the full set is installed.</param>
    /// <param name="limit">--limit: keep only the first N training (and test) images.</param>
    /// <param name="console">Where the notes go.</param>
    public static LoadedData Load(string? dataOption, bool useSample, int? limit, CliConsole console)
    {
        LoadedData data;
        if (useSample)
        {
            data = LoadSample();
        }
        else if (FashionMnist.TryFind(dataOption, out string? directory, out string reason))
        {
            var (train, test) = LoadDirectory(directory!);
            data = new LoadedData(train, test, $"Fashion-MNIST from {reason}", false);
        }
        else if (dataOption is not null || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(FashionMnist.EnvironmentVariable)))
        {
            throw CliException.DataError($"{reason} To use the sample built into convnet instead, pass --sample.");
        }
        else
        {
            data = LoadSample();
            console.Warn($"{reason.TrimEnd('.')}.");
            console.Warn($"Training on the small Fashion-MNIST sample built into convnet ({data.Train.Count:N0} training / {data.Test.Count:N0} test images). For the full set (60,000 / 10,000), {HowToInstall}.");
        }

        if (limit is int n)
        {
            data = data with
            {
                Train = n < data.Train.Count ? data.Train.Take(n) : data.Train,
                Test = n < data.Test.Count ? data.Test.Take(n) : data.Test,
            };
        }
        return data;
    }

    private static (Dataset Train, Dataset Test) LoadDirectory(string directory)
    {
        try
        {
            return FashionMnist.Load(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or ConvNetArgumentException)
        {
            // IdxFormatException (an IOException) names the file and what is wrong with it.
            throw CliException.DataError($"cannot load Fashion-MNIST from {directory}: {ex.Message}", ex);
        }
    }

    /// <summary>Loads the embedded sample by extracting its IDX files to a per-version temp directory.</summary>
    public static LoadedData LoadSample()
    {
        Assembly assembly = typeof(DataSource).Assembly;
        string[] names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).ToArray();
        if (names.Length == 0)
            throw CliException.DataError($"this build of convnet has no embedded Fashion-MNIST sample; {HowToInstall}.");

        string version = assembly.ManifestModule.ModuleVersionId.ToString("N")[..12];
        string directory = Path.Combine(Path.GetTempPath(), $"convnet-fashion-mnist-sample-{version}");
        Directory.CreateDirectory(directory);
        foreach (string name in names)
        {
            string target = Path.Combine(directory, name[ResourcePrefix.Length..]);
            if (File.Exists(target)) continue;
            string temporary = target + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
            using (Stream source = assembly.GetManifestResourceStream(name)!)
            using (FileStream file = File.Create(temporary))
                source.CopyTo(file);
            File.Move(temporary, target, overwrite: true); // concurrent runs (tests) race harmlessly
        }
        var (train, test) = LoadDirectory(directory);
        return new LoadedData(train, test, $"the Fashion-MNIST sample embedded in convnet ({train.Count:N0} training / {test.Count:N0} test images)", true);
    }
}
