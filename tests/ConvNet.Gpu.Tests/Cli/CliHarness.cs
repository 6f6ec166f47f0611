using Xunit;
using ConvNet.Gpu.Cli;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>What one in-process run of the convnet CLI produced.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}

/// <summary>Runs the CLI in-process through <c>Program.RunAsync</c> with captured output, and makes scratch directories.</summary>
public static class CliHarness
{
    public static async Task<CliResult> RunAsync(params string[] args) => await RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken, TextWriter? output = null)
    {
        var err = new StringWriter();
        var @out = output ?? new StringWriter();
        int code = await Program.RunAsync(args, @out, err, cancellationToken);
        return new CliResult(code, @out.ToString() ?? "", err.ToString());
    }

    /// <summary>Runs as if on a terminal: live Spectre progress bars and colors instead of plain lines.</summary>
    public static async Task<CliResult> RunAsTerminalAsync(params string[] args)
    {
        var err = new StringWriter();
        var @out = new StringWriter();
        int code = await new CliApp(@out, err, isTerminal: true).RunAsync(args, CancellationToken.None);
        return new CliResult(code, @out.ToString(), err.ToString());
    }

    /// <summary>A fresh empty directory under the temp folder.</summary>
    public static string TempDirectory(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), "convnet-cli-tests", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }
}

/// <summary>
/// A TextWriter that collects text and cancels a token the first time a line contains <paramref name="trigger"/>:
/// the in-process stand-in for pressing Ctrl-C while training prints its progress.
/// </summary>
public sealed class CancelOnLineWriter(string trigger, CancellationTokenSource cancellation) : StringWriter
{
    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        if (value is not null && value.Contains(trigger, StringComparison.Ordinal) && !cancellation.IsCancellationRequested)
            cancellation.Cancel();
    }
}
