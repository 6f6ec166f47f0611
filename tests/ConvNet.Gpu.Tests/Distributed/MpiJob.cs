using System.Diagnostics;
using System.Text;
using Xunit;

namespace ConvNet.Gpu.Tests.Distributed;

/// <summary>
/// Starts `mpirun --allow-run-as-root --oversubscribe -np N dotnet PROGRAM.dll ARGS` (one CPU thread per rank) and
/// collects its output, with a hard wall-clock limit after which the whole job is killed and the test fails.
/// Skips the test when mpirun is missing (build/prereqs.sh installs openmpi-bin in CI).
/// </summary>
internal static class MpiJob
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut)
    {
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s{(TimedOut ? " (killed at the limit)" : "")}\n{Output}";
    }

    /// <summary>The directory of the test assembly, where referenced programs (the CLI, the MPI worker) are copied.</summary>
    public static string BinDirectory => AppContext.BaseDirectory;

    public static string Mpirun()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "mpirun"))) return Path.Combine(dir, "mpirun");
        Assert.Skip("mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev; build/prereqs.sh does it as root)");
        return "";
    }

    /// <summary>
    /// Runs <paramref name="program"/> (a dll next to the tests) on <paramref name="ranks"/> ranks. Each entry of
    /// <paramref name="perRankArgs"/> is one MPMD block of one rank when given (mpirun's "A : B" form), else every rank gets <paramref name="args"/>.
    /// </summary>
    public static Result Run(int ranks, string program, IReadOnlyList<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? env = null,
        IReadOnlyList<IReadOnlyList<string>>? perRankArgs = null, Action<Process>? whileRunning = null)
    {
        var psi = new ProcessStartInfo(Mpirun())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = BinDirectory,
        };
        foreach (string a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none" }) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_gcServer"] = "0";
        psi.Environment["TERM"] = "dumb"; // plain progress lines: mpirun gives the ranks a pseudo-terminal
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"; // containers often forbid CMA (ptrace)
        if (env is not null)
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        string dll = Path.Combine(BinDirectory, program);
        if (perRankArgs is null)
        {
            psi.ArgumentList.Add("-np");
            psi.ArgumentList.Add(ranks.ToString(System.Globalization.CultureInfo.InvariantCulture));
            AddProgram(psi, dll, args);
        }
        else
        {
            for (int r = 0; r < perRankArgs.Count; r++)
            {
                if (r > 0) psi.ArgumentList.Add(":");
                psi.ArgumentList.Add("-np");
                psi.ArgumentList.Add("1");
                AddProgram(psi, dll, perRankArgs[r]);
            }
        }

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        whileRunning?.Invoke(process);
        bool finished = process.WaitForExit(limit);
        if (!finished) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        string text;
        lock (output) text = System.Text.RegularExpressions.Regex.Replace(output.ToString(), "\u001b(\\[[0-9;?]*[A-Za-z]|=)", "");
        return new Result(finished ? process.ExitCode : -1, text, clock.Elapsed, !finished);
    }

    private static void AddProgram(ProcessStartInfo psi, string dll, IReadOnlyList<string> args)
    {
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
    }

    /// <summary>The pids of the processes started by <paramref name="mpirun"/> whose OMPI_COMM_WORLD_RANK is <paramref name="rank"/>.</summary>
    public static int? RankPid(Process mpirun, int rank)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int close = stat.LastIndexOf(')');
                int parent = int.Parse(stat[(close + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                if (parent != mpirun.Id) continue;
                string environ = File.ReadAllText(Path.Combine(dir, "environ"));
                if (environ.Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return null;
    }
}
