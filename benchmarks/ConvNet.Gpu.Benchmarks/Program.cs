using BenchmarkDotNet.Running;

namespace ConvNet.Gpu.Benchmarks;

/// <summary>Entry point: runs the BenchmarkDotNet switcher over this assembly.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
