using System.CommandLine;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Training;

namespace ConvNet.Gpu.Cli.Commands;

/// <summary>
/// <c>convnet train</c>: trains a ready-made model on Fashion-MNIST with live progress, writes checkpoints, metrics.json
/// and report.html to the output directory; Ctrl-C writes a resumable checkpoint.
/// </summary>
internal static class TrainCommand
{
    /// <summary>Builds the command and its options.</summary>
    public static Command Create(CliApp app)
    {
        var model = CommonOptions.Choice("--model", "The network to train.", ModelNames.LeNet5, "model", ModelNames.All, "-m");
        var data = CommonOptions.OptionalPath("--data",
            "Directory with the four Fashion-MNIST IDX files (raw or .gz). Default: $CONVNET_DATA, then /usr/share/datasets/fashion-mnist, then the sample built into convnet.", "-d");
        var sample = new Option<bool>("--sample")
        {
            Description = "Train on the small Fashion-MNIST sample built into convnet, even when the full set is installed.",
        };
        var epochs = CommonOptions.Int("--epochs", "Number of epochs (a resumed run continues up to this many). Default: 10.", 10, 1, "-e");
        var batchSize = CommonOptions.Int("--batch-size", "Mini-batch size. Default: 64.", 64, 1, "-b");
        var lr = CommonOptions.OptionalPositiveFloat("--lr",
            "Learning rate. Default: 0.001 for adam/adamw, 0.05 for sgd (momentum 0.9). With --resume: continue with this rate instead of the checkpoint's.");
        var optimizer = CommonOptions.Choice("--optimizer", "The optimizer.", "adam", "optimizer", ModelNames.Optimizers);
        var device = DeviceOption();
        var seed = new Option<ulong>("--seed")
        {
            Description = "Seed of weight initialization, shuffling and dropout. Default: 42.",
            DefaultValueFactory = _ => 42,
        };
        var output = CommonOptions.OptionalPath("--out",
            "Output directory for checkpoints, metrics.json and report.html. Default: out/<model> (out/<file name> with --onnx, or the resumed checkpoint's directory).", "-o");
        var resume = CommonOptions.OptionalPath("--resume",
            "Continue an interrupted run from this checkpoint (same epoch and batch position). --lr is honoured, --batch-size at an epoch boundary; " +
            "another --optimizer or --seed is refused.");
        var onnx = CommonOptions.OptionalPath("--onnx",
            "Fine-tune the model in this ONNX file (a PyTorch export, or one written by `convnet export`) instead of a ready-made --model. " +
            "It must take 1x28x28 images and output one score per class. Input normalization: the file's convnet.normalization_* metadata, else measured on the training data.");
        var tf32 = new Option<bool>("--tf32") { Description = "Let cuBLAS use TF32 tensor cores (faster on Ampere and newer, ~1e-3 relative error)." };
        var limit = CommonOptions.OptionalInt("--limit", "Use only the first N training images (and at most N test images); handy for quick tries.", 1);
        var maxLossRatio = CommonOptions.OptionalPositiveDouble("--max-loss-ratio",
            "Stop with exit code 7 when an epoch's mean training loss exceeds this many times the loss at the start of training. Default: 100 (must be > 1).");
        var allowChance = new Option<bool>("--allow-chance-accuracy")
        {
            Description = "Do not stop (exit code 7) when an epoch ends at chance-level accuracy after an earlier epoch was above it.",
        };
        var distributed = new Option<bool>("--distributed")
        {
            Description = "Data-parallel training over the ranks of `mpirun -np N convnet train --distributed ...` (add --allow-run-as-root as root). "
                + "--batch-size is the global batch, split among the ranks; rank 0 alone prints and writes files. Without mpirun: one process.",
        };
        var syncBatchNorm = new Option<bool>("--sync-batchnorm") { Description = "With --distributed: BatchNorm statistics of the whole global batch (default: each rank's own)." };
        var timeout = CommonOptions.OptionalPositiveDouble("--collective-timeout", "With --distributed: seconds a rank waits for the others before the run fails naming the missing rank. Default: 300.");
        var bucket = CommonOptions.Int("--bucket-kb", "With --distributed: gradient all-reduce bucket size in KiB (buckets start while backward runs). Default: 1024.", 1024, 1);
        var threads = CommonOptions.OptionalInt("--threads", "CPU threads per process. Default: all cores, or cores / ranks on this machine with --distributed.", 1);

        var command = new Command("train", "Train a network on Fashion-MNIST (modern LeNet-5 by default) and write checkpoints, metrics.json and report.html.")
        {
            model, data, sample, epochs, batchSize, lr, optimizer, device, seed, output, resume, onnx, tf32, limit, maxLossRatio, allowChance,
            distributed, syncBatchNorm, timeout, bucket, threads,
        };
        command.Validators.Add(r =>
        {
            if (r.GetResult(onnx) is null) return;
            if (r.GetResult(model) is { Implicit: false }) r.AddError("--onnx and --model exclude each other: the ONNX file is the model.");
            if (r.GetResult(resume) is not null) r.AddError("--onnx and --resume exclude each other: a resumed run continues its checkpoint's model.");
        });
        command.SetAction((parse, ct) =>
        {
            var settings = new TrainSettings
            {
                Model = parse.GetResult(model) is { Implicit: false } ? parse.GetValue(model) : null,
                DataDirectory = parse.GetValue(data),
                UseSample = parse.GetValue(sample),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                BatchSizeGiven = parse.GetResult(batchSize) is { Implicit: false },
                LearningRate = parse.GetValue(lr),
                Optimizer = parse.GetValue(optimizer)!,
                OptimizerGiven = parse.GetResult(optimizer) is { Implicit: false },
                Device = ParseDevice(parse.GetValue(device)!),
                Seed = parse.GetValue(seed),
                SeedGiven = parse.GetResult(seed) is { Implicit: false },
                OutputDirectory = parse.GetValue(output),
                Resume = parse.GetValue(resume),
                Onnx = parse.GetValue(onnx),
                Tf32 = parse.GetValue(tf32),
                Limit = parse.GetValue(limit),
                MaxLossRatio = parse.GetValue(maxLossRatio) ?? 100,
                AllowChanceAccuracy = parse.GetValue(allowChance),
                Distributed = parse.GetValue(distributed),
                SyncBatchNorm = parse.GetValue(syncBatchNorm),
                CollectiveTimeoutSeconds = parse.GetValue(timeout) ?? 300,
                BucketKilobytes = parse.GetValue(bucket),
                Threads = parse.GetValue(threads),
                GpuFromLocalRank = parse.GetValue(device) is "auto" or "cuda",
                Verbose = parse.GetValue<bool>("--verbose"),
            };
            return Task.FromResult(new TrainRunner(app.Console, settings).Run(ct));
        });
        return command;
    }

    /// <summary>--device, validated at parse time.</summary>
    internal static Option<string> DeviceOption() => new("--device")
    {
        Description = $"Where to run: {DeviceRequest.Syntax}. Default: auto (a CUDA GPU when one works, else the CPU; the reason is printed).",
        DefaultValueFactory = _ => "auto",
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return "auto";
            string text = r.Tokens[0].Value;
            if (DeviceRequest.TryParse(text) is null) r.AddError($"unknown device '{text}'. Valid devices: {DeviceRequest.Syntax}.");
            return text;
        },
    };

    /// <summary>Parses a value <see cref="DeviceOption"/> has already validated.</summary>
    internal static DeviceRequest ParseDevice(string text) =>
        DeviceRequest.TryParse(text) ?? throw CliException.UsageError($"unknown device '{text}'. Valid devices: {DeviceRequest.Syntax}.");
}
