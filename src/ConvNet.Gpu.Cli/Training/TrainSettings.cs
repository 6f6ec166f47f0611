using ConvNet.Gpu.Cli.Engine;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>The validated options of <c>convnet train</c>.</summary>
internal sealed record TrainSettings
{
    /// <summary>Model name (see <see cref="ModelNames"/>); null when --resume decides it.</summary>
    public string? Model { get; init; }

    /// <summary>--data directory, or null to search.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>--sample: use the embedded sample.</summary>
    public bool UseSample { get; init; }

    /// <summary>Total epochs of the run (a resumed run continues up to this).</summary>
    public int Epochs { get; init; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>Whether --batch-size was given (a resumed run otherwise keeps the checkpoint's).</summary>
    public bool BatchSizeGiven { get; init; }

    /// <summary>Whether --optimizer was given (a resumed run refuses another type than the checkpoint's).</summary>
    public bool OptimizerGiven { get; init; }

    /// <summary>Whether --seed was given (a resumed run refuses another seed than the checkpoint's).</summary>
    public bool SeedGiven { get; init; }

    /// <summary>Learning rate, or null for the optimizer's default.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Optimizer name.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>The device to train on.</summary>
    public DeviceRequest Device { get; init; }

    /// <summary>Seed of initialization, shuffling and dropout.</summary>
    public ulong Seed { get; init; }

    /// <summary>Output directory, or null for out/&lt;model&gt; (or the resumed checkpoint's directory).</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Checkpoint to resume from, or null.</summary>
    public string? Resume { get; init; }

    /// <summary>--onnx: an ONNX model file to fine-tune instead of a ready-made model; null for none.</summary>
    public string? Onnx { get; init; }

    /// <summary>Allow TF32 tensor cores in cuBLAS.</summary>
    public bool Tf32 { get; init; }

    /// <summary>Use only the first N training (and test) images.</summary>
    public int? Limit { get; init; }

    /// <summary>--max-loss-ratio: the epoch's mean loss may reach this many times the start loss before the run counts as diverged.</summary>
    public double MaxLossRatio { get; init; } = 100;

    /// <summary>--allow-chance-accuracy: do not stop when an epoch falls back to chance-level accuracy.</summary>
    public bool AllowChanceAccuracy { get; init; }

    /// <summary>More output.</summary>
    public bool Verbose { get; init; }

    /// <summary>
    /// Data-parallel training across the processes of an mpirun job (rank, world size and local rank from
    /// OMPI_COMM_WORLD_*); <see cref="BatchSize"/> is then the global batch.
    /// </summary>
    public bool Distributed { get; init; }

    /// <summary>Synchronize BatchNorm statistics across ranks (with <see cref="Distributed"/>).</summary>
    public bool SyncBatchNorm { get; init; }

    /// <summary>How long one collective waits for the other ranks before the run fails, in seconds.</summary>
    public double CollectiveTimeoutSeconds { get; init; } = 300;

    /// <summary>Gradient bucket size for the all-reduce, in KiB.</summary>
    public int BucketKilobytes { get; init; } = 1024;

    /// <summary>CPU threads per process (null: all cores, or cores / ranks on this machine with <see cref="Distributed"/>).</summary>
    public int? Threads { get; init; }

    /// <summary>The device was given as "auto" or "cuda" without a number: with <see cref="Distributed"/>, use GPU LOCAL_RANK.</summary>
    public bool GpuFromLocalRank { get; init; }
}
