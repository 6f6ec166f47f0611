using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Cli;

/// <summary>
/// Entry point of the <c>convnet</c> tool. <see cref="Main"/> wires the real console and Ctrl-C/SIGTERM to a
/// cancellation token; everything else happens in <see cref="RunAsync"/>, which tests call in-process.
/// </summary>
internal static class Program
{
    /// <summary>Runs the tool on the process console; the first Ctrl-C (or SIGTERM) asks training to checkpoint and stop.</summary>
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        // The first Ctrl-C cancels cooperatively (training writes a checkpoint); a second one kills the process as usual.
        ConsoleCancelEventHandler onCancelKey = (_, e) =>
        {
            if (cancellation.IsCancellationRequested) return;
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancelKey;
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });
        try
        {
            bool terminal = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
            return await new CliApp(Console.Out, Console.Error, terminal).RunAsync(args, cancellation.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancelKey;
        }
    }

    /// <summary>
    /// Runs the tool in-process with the given writers (never treated as a terminal: progress is printed as plain lines).
    /// Returns the exit code (see <see cref="Infrastructure.ExitCodes"/>); cancelling <paramref name="cancellationToken"/>
    /// acts like Ctrl-C.
    /// </summary>
    internal static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        new CliApp(output, error, isTerminal: false).RunAsync(args, cancellationToken);
}
