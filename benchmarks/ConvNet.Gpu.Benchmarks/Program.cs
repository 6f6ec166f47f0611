using BenchmarkDotNet.Running;
using ConvNet.Gpu.Benchmarks.Harness;
using ConvNet.Gpu.Benchmarks.Ops;
using ConvNet.Gpu.Benchmarks.Peer;
using ConvNet.Gpu.Benchmarks.Shapes;

namespace ConvNet.Gpu.Benchmarks;

/// <summary>
/// Entry point.
/// <list type="bullet">
/// <item><c>quick [gemm|conv] [--threads N] [--shape NAME] [--im2col]</c>: a fast median-of-runs table of the CPU ops (<see cref="QuickCpuOps"/>).</item>
/// <item><c>peer [--device cpu|cuda] ...</c>: the side-by-side mode writing pytorch_peer.py's JSON rows (<see cref="PeerRun"/>).</item>
/// <item><c>profile-step [lenet5|vgg-small] [--device cpu|cuda]</c>: per-layer times of one training step and the convolution algorithms chosen (<see cref="StepProfile"/>).</item>
/// <item><c>conv-algorithms [--device cuda] [--tf32 on|off]</c>: every shape x pass per convolution algorithm (forced) and autotuned, with FLOPs, bytes and % of peak (<see cref="ConvAlgorithmRun"/>).</item>
/// <item><c>verify-shapes</c>: checks that ConvShapes.cs agrees with benchmarks/conv-shapes.json.</item>
/// <item>anything else: BenchmarkDotNet's switcher (e.g. <c>--filter *Convolution* --job short</c>), with the GFLOP/s,
/// % of peak and images/s columns. <c>--inProcess</c> runs in this process (no project generated or built at run time);
/// it is the default when no .NET SDK is installed or the project is not reachable from the current directory, e.g. on a
/// GPU host running the self-contained bundle of benchmarks/publish-gpu-bench.sh.</item>
/// </list>
/// </summary>
public static class Program
{
    /// <summary>The in-process switch.</summary>
    public const string InProcessSwitch = "--inProcess";

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick")
        {
            QuickCpuOps.Run(args[1..]);
            return 0;
        }
        // ConvShapes.cs mirrors the embedded conv-shapes.json; another table (CONVNET_SHAPES, e.g. gpu-run.sh --rehearsal's
        // tiny one) is used as it is.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ShapeTable.EnvironmentVariable))) ShapeTable.VerifyConvShapesAgree();
        if (args.Length > 0 && args[0] == "peer") return PeerRun.Run(args[1..]);
        if (args.Length > 0 && args[0] == "profile-step") return StepProfile.Run(args[1..]);
        if (args.Length > 0 && args[0] == "conv-algorithms") return ConvAlgorithmRun.Run(args[1..]);
        if (args.Length > 0 && args[0] == "verify-shapes")
        {
            Console.WriteLine($"ConvShapes.cs agrees with conv-shapes.json ({ShapeTable.Convolutions.Count} conv shapes, {ShapeTable.Pools.Count} pool shapes).");
            return 0;
        }

        // BenchmarkDotNet's own --inProcess (-i) puts every command-line job (--job short, ...) on InProcessEmitToolchain.
        bool inProcess = args.Any(a => a is "-i" || string.Equals(a, InProcessSwitch, StringComparison.OrdinalIgnoreCase));
        if (!inProcess && SdkProbe.InProcessReason() is { } reason)
        {
            args = [.. args, InProcessSwitch];
            Console.WriteLine($"// ConvNet.Gpu: {reason}; running the benchmarks in-process (InProcessEmitToolchain).");
        }
        _ = BenchmarkBackends.Available.ToList(); // prints why CUDA rows are skipped, before BenchmarkDotNet's output
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, HarnessConfig.Create());
        return 0;
    }
}
