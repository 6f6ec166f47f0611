using System.Globalization;

namespace ConvNet.Gpu.IO;

/// <summary>The moments of an <see cref="AtomicFile.Write(string, Action{Stream})"/> at which a fault can be injected.</summary>
internal enum FaultPoint
{
    /// <summary>The temporary file exists and is empty.</summary>
    Created,
    /// <summary>Part of the bytes (at least 4 KiB, or all of a smaller file) are in the temporary file.</summary>
    Partial,
    /// <summary>The temporary file is complete and fsynced; the target is not replaced yet.</summary>
    Flushed,
    /// <summary>The target has been replaced; the directory is not fsynced yet.</summary>
    Renamed,
}

/// <summary>
/// A test seam that makes crash and full-disk behaviour reproducible: the environment variable
/// <c>CONVNET_FAULT_INJECTION</c> = <c>action:point[:file][@n]</c> makes the n-th (default first) atomic write of a file
/// named <c>file</c> (any file when omitted) fail at <c>point</c> (created, partial, flushed, renamed). Actions:
/// <c>kill</c> ends the process with SIGKILL on the spot (no cleanup runs, as with <c>kill -9</c>); <c>enospc</c> throws
/// the <see cref="IOException"/> a full disk gives. Read once per process; unset in normal use, where every hook is
/// a single field test.
/// </summary>
internal static class FaultInjection
{
    /// <summary>The environment variable read at start-up.</summary>
    public const string EnvironmentVariable = "CONVNET_FAULT_INJECTION";

    /// <summary>errno ENOSPC on Linux, stored as the exception's HResult like the runtime's own I/O errors.</summary>
    private const int NoSpace = 28;

    private static readonly Spec? Armed = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));
    private static int _hits;

    internal sealed record Spec(bool Kill, FaultPoint Point, string? FileName, int Occurrence);

    /// <summary>Whether a fault is configured for this process.</summary>
    public static bool IsArmed => Armed is not null;

    /// <summary>Called by <see cref="AtomicFile"/> at <paramref name="point"/> while writing <paramref name="target"/>.</summary>
    public static void At(FaultPoint point, string target)
    {
        if (Armed is not { } spec || spec.Point != point) return;
        if (spec.FileName is not null && !string.Equals(Path.GetFileName(target), spec.FileName, StringComparison.Ordinal)) return;
        if (Interlocked.Increment(ref _hits) != spec.Occurrence) return;
        if (spec.Kill)
        {
            Console.Error.Flush();
            System.Diagnostics.Process.GetCurrentProcess().Kill(); // SIGKILL on Unix: nothing after this line runs
            Thread.Sleep(Timeout.Infinite);
        }
        throw new IOException($"No space left on device : '{target}' (injected by {EnvironmentVariable} at '{point}')", NoSpace);
    }

    /// <summary>Parses <c>action:point[:file][@n]</c>; a malformed value is an error at start-up, never ignored.</summary>
    internal static Spec? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        int occurrence = 1;
        string body = text.Trim();
        int at = body.LastIndexOf('@');
        if (at >= 0)
        {
            if (!int.TryParse(body.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out occurrence) || occurrence < 1)
                throw Malformed(text);
            body = body[..at];
        }
        string[] parts = body.Split(':');
        if (parts.Length is < 2 or > 3) throw Malformed(text);
        bool kill = parts[0] switch { "kill" => true, "enospc" => false, _ => throw Malformed(text) };
        if (!Enum.TryParse(parts[1], ignoreCase: true, out FaultPoint point) || !Enum.IsDefined(point)) throw Malformed(text);
        return new Spec(kill, point, parts.Length == 3 && parts[2].Length > 0 ? parts[2] : null, occurrence);
    }

    private static ArgumentException Malformed(string text) => new(
        $"{EnvironmentVariable}='{text}' is not action:point[:file][@n] with action kill or enospc and point created, partial, flushed or renamed.");
}

/// <summary>Passes writes through to the temporary file and fires <see cref="FaultPoint.Partial"/> once 4 KiB (or the whole file) is written.</summary>
internal sealed class FaultInjectingStream(Stream inner, string target) : Stream
{
    private const long PartialThreshold = 4096;
    private long _written;
    private bool _fired;

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override void Flush()
    {
        Fire();
        inner.Flush();
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => inner.SetLength(value);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        _written += buffer.Length;
        if (_written >= PartialThreshold) Fire();
    }

    private void Fire()
    {
        if (_fired) return;
        _fired = true;
        inner.Flush(); // the partial bytes really are in the file when the fault hits
        FaultInjection.At(FaultPoint.Partial, target);
    }
}
