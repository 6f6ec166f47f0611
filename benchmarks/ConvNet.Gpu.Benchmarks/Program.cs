using BenchmarkDotNet.Running;
using ConvNet.Gpu.Benchmarks.Ops;

namespace ConvNet.Gpu.Benchmarks;

/// <summary>
/// Entry point: runs the BenchmarkDotNet switcher over this assembly, or with first argument "quick" a fast
/// median-of-runs table of the CPU ops (see <see cref="QuickCpuOps"/>).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick")
        {
            QuickCpuOps.Run(args[1..]);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
