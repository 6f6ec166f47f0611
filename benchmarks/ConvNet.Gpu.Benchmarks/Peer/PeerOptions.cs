using System.Globalization;

namespace ConvNet.Gpu.Benchmarks.Peer;

/// <summary>Options of the <c>peer</c> command, named like pytorch_peer.py's.</summary>
public sealed record PeerOptions
{
    /// <summary>"cpu", "cuda" or "cuda-emulated" (the GPU code path on the host, for checks without a GPU).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>CPU threads (null: all cores).</summary>
    public int? Threads { get; init; }
    /// <summary>Minimum timed runs per op.</summary>
    public int Repeats { get; init; } = 10;
    /// <summary>Images in the LeNet-5 epoch.</summary>
    public int EpochImages { get; init; } = 60_000;
    /// <summary>Epoch batch size.</summary>
    public int Batch { get; init; } = 64;
    /// <summary>Size n of the n x n x n SGEMM row.</summary>
    public int Sgemm { get; init; } = 1024;
    /// <summary>Leave out the epoch row.</summary>
    public bool SkipEpoch { get; init; }
    /// <summary>Also time the small VGG's epoch and both models' steps (rows the PyTorch peer does not have yet).</summary>
    public bool Extended { get; init; }
    /// <summary>Whether cuBLAS may use TF32 ("on"/"off"; CUDA only).</summary>
    public bool Tf32 { get; init; }
    /// <summary>Output file (null: stdout).</summary>
    public string? Out { get; init; }

    /// <summary>Usage text.</summary>
    public const string Usage =
        "peer [--device cpu|cuda] [--threads N] [--repeats N] [--epoch-images N] [--batch N] [--sgemm N] [--skip-epoch] [--extended] [--tf32 on|off] [--out FILE]";

    /// <summary>Parses the arguments after "peer".</summary>
    public static PeerOptions Parse(string[] args)
    {
        var o = new PeerOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value; usage: {Usage}");
            int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--device" => o with { Device = Next() },
                "--threads" => o with { Threads = NextInt() },
                "--repeats" => o with { Repeats = NextInt() },
                "--epoch-images" => o with { EpochImages = NextInt() },
                "--batch" => o with { Batch = NextInt() },
                "--sgemm" => o with { Sgemm = NextInt() },
                "--skip-epoch" => o with { SkipEpoch = true },
                "--extended" => o with { Extended = true },
                "--tf32" => o with { Tf32 = Next() switch { "on" => true, "off" => false, var v => throw new ArgumentException($"--tf32 takes on or off, got '{v}'") } },
                "--out" => o with { Out = Next() },
                _ => throw new ArgumentException($"unknown peer argument '{args[i]}'; usage: {Usage}"),
            };
        }
        return o;
    }
}
