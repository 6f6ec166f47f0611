using ConvNet.Gpu.IO;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Reads and writes checkpoint files: a versioned, checksummed, little-endian container for a <see cref="CheckpointContent"/>
/// (format described in the docs of CheckpointFileFormat: magic "CNGPUCKP", u32 version, section table, CRC-32C checksums).
/// Writes are atomic: a crash at any moment leaves either the previous file or the new one, never a mix.
/// </summary>
public static class CheckpointFile
{
    /// <summary>The format version this build writes and the only one it reads.</summary>
    public const uint FormatVersion = 1;

    /// <summary>The 8 ASCII bytes every checkpoint file starts with.</summary>
    public const string Magic = "CNGPUCKP";

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> atomically with <see cref="AtomicFile.Write(string, Action{Stream})"/>: the bytes go
    /// to a new sibling file <c>path.tmp-&lt;pid&gt;-&lt;random&gt;</c>, which is flushed to disk (fsync), then renamed over
    /// <paramref name="path"/>; finally the directory is fsynced where the platform allows. If anything fails, the
    /// temporary file is removed and <paramref name="path"/> is left as it was. The parent directory is created if needed.
    /// The content is validated before any file is created.
    /// </summary>
    /// <remarks>
    /// A process killed mid-write can leave a <c>path.tmp-*</c> file behind; it is never read (the target is untouched),
    /// and <see cref="AtomicFile.RemoveStaleTemporaries"/> deletes it once its writer is gone. Two processes writing the
    /// same path concurrently each produce a complete file; the last rename wins.
    /// </remarks>
    /// <exception cref="ConvNetArgumentException">An entry name is empty or a value is null.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Write(string path, CheckpointContent content) => Write(path, content, beforeRename: null);

    /// <summary>
    /// <see cref="Write(string, CheckpointContent)"/> with a hook called with the temporary path after it is flushed and
    /// before the rename; tests throw from it to simulate a crash at that point.
    /// </summary>
    internal static void Write(string path, CheckpointContent content, Action<string>? beforeRename)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(content);
        CheckpointFileWriter.Validate(content);
        AtomicFile.Write(path, stream => CheckpointFileWriter.Write(stream, content), beforeRename);
    }

    /// <summary>Reads and verifies a checkpoint file.</summary>
    /// <exception cref="CheckpointFormatException">The file is truncated, corrupt, not a checkpoint, or of an unsupported version.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static CheckpointContent Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return CheckpointFileReader.Read(stream, path);
    }
}
