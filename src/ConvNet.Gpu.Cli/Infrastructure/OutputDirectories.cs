using ConvNet.Gpu.IO;

namespace ConvNet.Gpu.Cli.Infrastructure;

/// <summary>Creates and writes the output directory; any failure becomes exit code 6 with the path and the reason.</summary>
internal static class OutputDirectories
{
    /// <summary>Creates <paramref name="directory"/> if needed and proves it is writable by writing and deleting a probe file.</summary>
    public static string Prepare(string directory)
    {
        string full = Path.GetFullPath(directory);
        try
        {
            Directory.CreateDirectory(full);
            string probe = Path.Combine(full, $".convnet-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw CliException.OutputError($"cannot write to the output directory {full}: {ex.Message} Choose another with --out DIR.", ex);
        }
    }

    /// <summary>
    /// Writes a text file atomically (<see cref="AtomicFile"/>: temporary file, fsync, rename), so readers never see half a
    /// file; on failure the temporary file is removed and the previous file is unchanged.
    /// </summary>
    public static void WriteText(string path, string text)
    {
        try
        {
            AtomicFile.WriteAllText(path, text);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.OutputError($"cannot write {path}: {ex.Message}", ex);
        }
    }
}
