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

    /// <summary>Writes a text file atomically (temporary file, then rename), so readers never see half a file.</summary>
    public static void WriteText(string path, string text)
    {
        string temporary = $"{path}.tmp-{Environment.ProcessId}";
        try
        {
            File.WriteAllText(temporary, text);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.OutputError($"cannot write {path}: {ex.Message}", ex);
        }
    }
}
