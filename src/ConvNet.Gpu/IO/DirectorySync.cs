using System.Runtime.InteropServices;

namespace ConvNet.Gpu.IO;

/// <summary>
/// fsync of a directory on POSIX systems, so that a rename inside it survives a power loss. .NET cannot open a
/// directory as a stream, so this calls open/fsync/close from libc. Best effort: failures (and Windows, where
/// renames are journaled by NTFS) are ignored, because the file itself was already flushed.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0; // O_RDONLY on Linux and macOS

    /// <summary>Flushes the directory entry changes of <paramref name="directory"/> to disk, if the platform allows.</summary>
    /// <returns>Whether the directory was fsynced.</returns>
    public static bool Flush(string directory)
    {
        if (OperatingSystem.IsWindows()) return false;
        try
        {
            int fd = Open(directory, ReadOnly);
            if (fd < 0) return false;
            try { return Fsync(fd) == 0; }
            finally { _ = Close(fd); }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: the data file was fsynced; only the rename's durability is not forced.
            return false;
        }
    }

    // "libc" resolves to the C library on Linux (glibc and musl) and macOS.
    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
