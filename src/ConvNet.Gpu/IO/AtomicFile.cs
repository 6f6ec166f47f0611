using System.Globalization;
using System.Text;

namespace ConvNet.Gpu.IO;

/// <summary>
/// Writes a file so that readers only ever see the previous version or the complete new one: the bytes go to a
/// sibling temporary file <c>&lt;name&gt;.tmp-&lt;pid&gt;-&lt;random&gt;</c>, which is flushed to disk (fsync), then renamed
/// over the target; finally the directory is fsynced where the platform allows, so the rename is durable too.
/// On any failure (full disk, permissions, an exception from the caller's writer) the temporary file is removed and
/// the target is left as it was. A process killed mid-write can leave a temporary file behind; it is never read,
/// and <see cref="RemoveStaleTemporaries"/> deletes those whose writing process is gone.
/// </summary>
/// <remarks>
/// Two processes writing the same path concurrently each produce a complete file; the last rename wins. Temporary
/// names carry the writer's process id so that a cleanup never deletes a file another live process is writing.
/// </remarks>
public static class AtomicFile
{
    /// <summary>The infix of temporary file names: <c>target + ".tmp-" + pid + "-" + random</c>.</summary>
    public const string TemporaryInfix = ".tmp-";

    /// <summary>
    /// Writes <paramref name="path"/> atomically with <paramref name="write"/>, which receives a seekable, empty stream
    /// positioned at 0 (it must not dispose it). The parent directory is created if needed.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written (full disk, I/O error); the target is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable; the target is unchanged.</exception>
    public static void Write(string path, Action<Stream> write) => Write(path, write, beforeRename: null);

    /// <summary>
    /// <see cref="Write(string, Action{Stream})"/> with a hook called with the complete, closed temporary file's path just
    /// before the rename; tests throw from it to simulate a crash at that point.
    /// </summary>
    internal static void Write(string path, Action<Stream> write, Action<string>? beforeRename)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        Directory.CreateDirectory(directory);

        string temporary = TemporaryName(fullPath);
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                FaultInjection.At(FaultPoint.Created, fullPath);
                Stream target = FaultInjection.IsArmed ? new FaultInjectingStream(file, fullPath) : file;
                write(target);
                target.Flush();
                file.Flush(flushToDisk: true);
            }
            FaultInjection.At(FaultPoint.Flushed, fullPath);
            beforeRename?.Invoke(temporary);
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        FaultInjection.At(FaultPoint.Renamed, fullPath);
        _ = DirectorySync.Flush(directory);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) to <paramref name="path"/> atomically.</summary>
    /// <exception cref="IOException">The file cannot be written; the target is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable; the target is unchanged.</exception>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>
    /// Deletes the temporary files (<c>*.tmp-&lt;pid&gt;-*</c>) in <paramref name="directory"/> left by writers that are
    /// no longer running (killed, or crashed before their cleanup ran). Files of live processes, including this one,
    /// are kept. Returns the paths deleted; files that cannot be deleted are skipped.
    /// </summary>
    public static IReadOnlyList<string> RemoveStaleTemporaries(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var removed = new List<string>();
        if (!Directory.Exists(directory)) return removed;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, "*" + TemporaryInfix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return removed;
        }
        foreach (string file in candidates)
        {
            if (WriterProcessId(Path.GetFileName(file)) is not int pid) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            if (TryDelete(file)) removed.Add(file);
        }
        return removed;
    }

    /// <summary>The process id in a temporary file name, or null when the name is not one of ours.</summary>
    internal static int? WriterProcessId(string fileName)
    {
        int at = fileName.LastIndexOf(TemporaryInfix, StringComparison.Ordinal);
        if (at <= 0) return null;
        string rest = fileName[(at + TemporaryInfix.Length)..];
        int dash = rest.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0) return null;
        return int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    private static string TemporaryName(string fullPath) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{fullPath}{TemporaryInfix}{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}");

    private static bool IsRunning(int pid)
    {
        // /proc is authoritative on Linux; elsewhere ask the runtime (a pid reused by another process keeps the file:
        // the safe side).
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
