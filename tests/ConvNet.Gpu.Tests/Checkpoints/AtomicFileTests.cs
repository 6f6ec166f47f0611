using ConvNet.Gpu.IO;
using ConvNet.Gpu.Tests.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Checkpoints;

/// <summary>Atomic writes clean up after every failure, and stale temporary files of dead writers are found and removed.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_writer_that_fails_midway_leaves_the_target_unchanged_and_no_temporary_file()
    {
        string path = _dir.File("data.bin");
        AtomicFile.WriteAllText(path, "first");

        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("partial"u8);
            throw new IOException("No space left on device");
        }));

        Assert.Equal("No space left on device", e.Message);
        Assert.Equal("first", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void A_failing_rename_leaves_no_temporary_file()
    {
        // The target is a directory: the rename fails after the temporary file is complete.
        string path = _dir.File("metrics.json");
        Directory.CreateDirectory(path);

        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllText(path, "{}"));

        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Stale_temporary_files_of_dead_writers_are_removed_and_live_ones_kept()
    {
        int dead = DeadProcessId();
        string stale = _dir.File($"last.ckpt{AtomicFile.TemporaryInfix}{dead}-0123456789ab");
        string mine = _dir.File($"last.ckpt{AtomicFile.TemporaryInfix}{Environment.ProcessId}-0123456789ab");
        string live = _dir.File($"best.ckpt{AtomicFile.TemporaryInfix}1-0123456789ab"); // pid 1 always runs
        string unrelated = _dir.File("notes.tmp-x");
        string target = _dir.File("last.ckpt");
        foreach (string f in new[] { stale, mine, live, unrelated, target }) File.WriteAllText(f, "x");

        var removed = AtomicFile.RemoveStaleTemporaries(_dir.Path);

        Assert.Equal([stale], removed);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(mine) && File.Exists(live) && File.Exists(unrelated) && File.Exists(target));
    }

    [Theory]
    [InlineData("last.ckpt.tmp-1234-abcdef", 1234)]
    [InlineData("a.b.tmp-7-0", 7)]
    [InlineData("last.ckpt.tmp-abcdef", null)]
    [InlineData("last.ckpt.tmp-", null)]
    [InlineData(".tmp-12-3", null)]
    public void The_writer_process_id_is_read_from_the_name(string name, int? pid) =>
        Assert.Equal(pid, AtomicFile.WriterProcessId(name));

    [Theory]
    [InlineData("kill:renamed:last.ckpt@2", true, "Renamed", "last.ckpt", 2)]
    [InlineData("enospc:partial", false, "Partial", null, 1)]
    [InlineData("kill:Flushed:@3", true, "Flushed", null, 3)]
    public void Fault_specifications_parse(string text, bool kill, string point, string? file, int n) =>
        Assert.Equal(new FaultInjection.Spec(kill, Enum.Parse<FaultPoint>(point), file, n), FaultInjection.Parse(text));

    [Theory]
    [InlineData("explode:renamed")]
    [InlineData("kill")]
    [InlineData("kill:nowhere")]
    [InlineData("kill:renamed@0")]
    [InlineData("kill:renamed:a:b")]
    public void Malformed_fault_specifications_are_errors(string text) =>
        Assert.Throws<ArgumentException>(() => FaultInjection.Parse(text));

    private static int DeadProcessId()
    {
        // A child that has exited: its pid is free (reuse within the test is practically impossible).
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }
}
