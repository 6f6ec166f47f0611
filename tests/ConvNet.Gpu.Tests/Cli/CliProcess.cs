using System.Diagnostics;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>What one out-of-process run of the convnet CLI produced; <see cref="Killed"/> when SIGKILL ended it.</summary>
public sealed record CliProcessResult(int ExitCode, string Out, string Err, bool Killed)
{
    public override string ToString() => $"exit {ExitCode}{(Killed ? " (killed)" : "")}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}

/// <summary>
/// Runs the real `convnet` (the convnet.dll next to the tests) in its own process, so that it can be killed with
/// SIGKILL or given environment variables such as CONVNET_FAULT_INJECTION without touching the test process.
/// </summary>
public static class CliProcess
{
    /// <summary>SIGKILL as a .NET exit code on Unix (128 + 9).</summary>
    public const int KilledExitCode = 137;

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "convnet.dll");

    /// <summary>
    /// Runs to completion, or kills the process (SIGKILL, like kill -9) after <paramref name="killAfter"/>.
    /// <paramref name="environment"/> entries are added to the child's environment.
    /// </summary>
    public static async Task<CliProcessResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? killAfter = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start convnet");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        bool killed = false;
        using (var limit = new CancellationTokenSource(killAfter ?? timeout ?? TimeSpan.FromMinutes(5)))
        {
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true); // SIGKILL on Unix
                killed = killAfter is not null;
                await process.WaitForExitAsync();
                if (!killed) throw new TimeoutException($"convnet {string.Join(' ', args)} did not finish within {timeout}.");
            }
        }
        int code = process.ExitCode;
        return new CliProcessResult(code, await stdout, await stderr, killed || code == KilledExitCode);
    }

    /// <summary>The dotnet host running these tests (DOTNET_HOST_PATH under `dotnet test`), else `dotnet` from PATH.</summary>
    internal static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }
}
