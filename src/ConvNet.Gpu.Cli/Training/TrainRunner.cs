using System.Diagnostics;
using System.Globalization;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Cli.Reporting;
using ConvNet.Gpu.IO;
using DivergencePolicy = ConvNet.Gpu.Training.DivergencePolicy;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>
/// Runs <c>convnet train</c> end to end: output directory, data, device, model (new or resumed), the training loop
/// with progress and per-epoch evaluation, checkpoints (last, best, final, or the interruption point), metrics.json
/// and report.html.
/// </summary>
internal sealed class TrainRunner(CliConsole rootConsole, TrainSettings settings)
{
    private CliConsole _log = rootConsole; // this rank's console: rank 0 prints, the other ranks of a distributed run only report errors
    private DistributedRun? _run;

    /// <summary>Checkpoint written at every epoch end and on interruption: what --resume takes.</summary>
    public const string LastCheckpoint = "last.ckpt";

    /// <summary>Checkpoint with the best test accuracy so far.</summary>
    public const string BestCheckpoint = "best.ckpt";

    /// <summary>Checkpoint with the final weights.</summary>
    public const string FinalCheckpoint = "final.ckpt";

    /// <summary>Trains; returns the exit code (0, or 130 when interrupted with a checkpoint written).</summary>
    public int Run(CancellationToken cancellationToken)
    {
        using DistributedRun run = DistributedRun.Start(settings, _log, cancellationToken);
        _run = run;
        _log = run.Console;
        string? resume = settings.Resume is null ? null : Path.GetFullPath(settings.Resume);
        if (resume is not null && !File.Exists(resume))
            throw CliException.CheckpointError($"the checkpoint to resume from does not exist: {resume}");

        string? onnx = settings.Onnx is null ? null : Path.GetFullPath(settings.Onnx);
        if (onnx is not null && !File.Exists(onnx))
            throw CliException.CheckpointError($"the ONNX model to fine-tune does not exist: {onnx}");

        string requestedOutput = settings.OutputDirectory ?? (resume is not null ? Path.GetDirectoryName(resume)!
            : Path.Combine("out", onnx is not null ? Path.GetFileNameWithoutExtension(onnx) : settings.Model ?? ModelNames.LeNet5));

        // The device first: a run that cannot start leaves no output directory behind.
        var (deviceRequest, threads) = run.Device(settings);
        OpenedDevice device = DeviceSelector.Open(deviceRequest, settings.Tf32, threads);
        using IBackend backend = device.Backend;
        string outputDirectory = run.IsRoot ? OutputDirectories.Prepare(requestedOutput) : Path.GetFullPath(requestedOutput);

        // Temporary files of an earlier run that was killed mid-write are never read; remove them (rank 0 owns the directory).
        if (run.IsRoot)
            foreach (string stale in AtomicFile.RemoveStaleTemporaries(outputDirectory))
                if (settings.Verbose) _log.Line($"Removed {stale}, left by a run that was killed while writing it.");
        run.Attach(backend);
        _log.Note("Device:", $"{backend.Name} ({device.Reason})");
        if (settings.Verbose) _log.Line($"        {backend.Description}");

        LoadedData data = DataSource.Load(settings.DataDirectory, settings.UseSample, settings.Limit, _log);
        _log.Note("Data:", $"{data.Description}; {data.Train.Count:N0} training / {data.Test.Count:N0} test images of {data.Train.SampleShape}");

        double learningRate = settings.LearningRate ?? ModelNames.DefaultLearningRate(settings.Optimizer);
        using TrainingSession session = resume is null && onnx is not null
            ? TrainingSession.Import(onnx, backend, data.Train, settings.Optimizer, learningRate, settings.Seed, settings.BatchSize)
            : resume is null
            ? TrainingSession.Create(settings.Model ?? ModelNames.LeNet5, backend, data.Train, settings.Optimizer, learningRate, settings.Seed, settings.BatchSize)
            : TrainingSession.Resume(resume, backend, settings.Model, forTraining: true, new ResumeOverrides(settings.LearningRate,
                settings.OptimizerGiven ? settings.Optimizer : null, settings.BatchSizeGiven ? settings.BatchSize : null, settings.SeedGiven ? settings.Seed : null));
        session.CheckCompatible(data.Train);

        if (resume is not null)
            _log.Note("Resume:", $"{resume} at epoch {session.Position.CompletedEpochs + 1}, batch {session.Position.BatchesIntoEpoch + 1} " + (session.ResumeNotes.Count == 0
                ? $"(model {session.ModelName}, optimizer {session.Optimizer}, batch size {session.BatchSize}, seed {session.Seed}: those come from the checkpoint)"
                : $"(model {session.ModelName}, optimizer {session.Optimizer}, seed {session.Seed} from the checkpoint; {string.Join(", ", session.ResumeNotes)})"));
        if (onnx is not null)
            _log.Note("Import:", $"{onnx}: {session.ParameterCount:N0} parameters to fine-tune; input normalization {session.NormalizationSource}");
        _log.Note("Model:", FormattableString.Invariant(
            $"{session.ModelName}, {session.ParameterCount:N0} parameters; {session.Optimizer} lr {session.LearningRate:G4}, batch size {session.BatchSize}, {settings.Epochs} epochs, seed {session.Seed}"));
        if (settings.Verbose) _log.Line(session.Summary());
        if (run.Describe(settings) is string distributed) _log.Note("Distributed:", distributed);

        if (session.Position.CompletedEpochs >= settings.Epochs)
            throw CliException.UsageError($"the checkpoint has already completed {session.Position.CompletedEpochs} epoch(s); pass --epochs greater than that to train further.");

        var metrics = new RunMetrics
        {
            Model = session.ModelName,
            Device = backend.Name,
            DeviceReason = device.Reason,
            ParameterCount = session.ParameterCount,
            Seed = session.Seed,
            Optimizer = session.Optimizer,
            LearningRate = session.LearningRate,
            BatchSize = session.BatchSize,
            Dataset = data.Description,
            TrainImages = data.Train.Count,
            TestImages = data.Test.Count,
            Tf32 = settings.Tf32,
            EpochsRequested = settings.Epochs,
            Epochs = resume is null ? [] : EarlierEpochs(resume, session.Position.CompletedEpochs),
        };
        if (resume is not null && run.IsRoot) CarryBestCheckpoint(resume, outputDirectory);

        FitOutcome outcome = TrainLoop(session, data, metrics, outputDirectory, cancellationToken);
        if (run.Statistics() is string communication) _log.Note("Communication:", communication);
        if (!run.IsRoot) return outcome.Interrupted ? ExitCodes.Interrupted : ExitCodes.Success; // rank 0 writes the files
        string metricsPath = Path.Combine(outputDirectory, "metrics.json");
        OutputDirectories.WriteText(metricsPath, metrics.ToJson());

        if (outcome.Interrupted)
        {
            string last = Path.Combine(outputDirectory, LastCheckpoint);
            int batches = session.BatchesPerEpoch(data.Train);
            _log.Line();
            _log.Line($"Interrupted at epoch {outcome.Position.CompletedEpochs + 1}/{settings.Epochs}, batch {outcome.Position.BatchesIntoEpoch}/{batches}. Checkpoint written to {last}.");
            _log.Line($"Resume with: convnet train --resume {Quote(last)} --epochs {settings.Epochs}{DataHint()}");
            return ExitCodes.Interrupted;
        }

        session.Save(Path.Combine(outputDirectory, FinalCheckpoint));
        var final = Stopwatch.StartNew();
        ReportData report = ReportBuilder.Build(session, data, metrics);
        string reportPath = Path.Combine(outputDirectory, "report.html");
        OutputDirectories.WriteText(reportPath, ReportHtml.Build(report));
        _log.Line();
        _log.Line(FormattableString.Invariant(
            $"Done: test accuracy {report.FinalTest.Accuracy * 100:0.00}% (best {metrics.BestTestAccuracy * 100:0.00}% at epoch {metrics.BestEpoch}), test loss {report.FinalTest.Loss:0.0000}."));
        _log.Line($"Wrote {Path.Combine(outputDirectory, FinalCheckpoint)}, {Path.Combine(outputDirectory, BestCheckpoint)}, {metricsPath} and {reportPath}.");
        if (settings.Verbose) _log.Line($"(report built in {final.Elapsed.TotalSeconds:0.0} s)");
        return ExitCodes.Success;
    }

    private FitOutcome TrainLoop(TrainingSession session, LoadedData data, RunMetrics metrics, string outputDirectory, CancellationToken ct)
    {
        ProgressView view = _log.IsTerminal ? new LiveProgressView(_log) : new PlainProgressView(_log);
        int batches = session.BatchesPerEpoch(data.Train);
        TrainPosition start = session.Position;
        var eta = new EtaEstimator((long)(settings.Epochs - start.CompletedEpochs) * batches - start.BatchesIntoEpoch, settings.Epochs - start.CompletedEpochs);
        double bestAccuracy = metrics.Epochs.Count == 0 ? double.NegativeInfinity : metrics.BestTestAccuracy;
        FitOutcome outcome = default;

        view.Run(() =>
        {
            eta.StartTraining();
            outcome = session.Fit(data.Train, settings.Epochs, Divergence(),
                onEpochStart: (epoch, startBatch) => view.BeginEpoch(epoch, settings.Epochs, batches, startBatch),
                onBatch: e =>
                {
                    eta.BatchDone();
                    view.Batch(new ProgressLine(e.Epoch, settings.Epochs, e.Batch, e.Batches, e.Loss, e.Accuracy, e.ImagesPerSecond, eta.Remaining));
                },
                onEpochEnd: e =>
                {
                    if (!_run!.IsRoot) return; // rank 0 evaluates and writes; the others go on and wait for it in the next step
                    eta.PauseTraining();
                    view.Evaluating(e.Epoch);
                    var clock = Stopwatch.StartNew();
                    TestResult test = session.Evaluate(data.Test);
                    eta.EvaluationDone(clock.Elapsed.TotalSeconds);
                    var epoch = new EpochRecord(e.Epoch, e.TrainLoss, e.TrainAccuracy, test.Loss, test.Accuracy, e.Seconds, e.ImagesPerSecond);
                    metrics.Epochs.Add(epoch);
                    bool best = test.Accuracy > bestAccuracy;
                    if (best)
                    {
                        bestAccuracy = test.Accuracy;
                        session.Save(Path.Combine(outputDirectory, BestCheckpoint));
                    }
                    session.Save(Path.Combine(outputDirectory, LastCheckpoint));
                    OutputDirectories.WriteText(Path.Combine(outputDirectory, "metrics.json"), metrics.ToJson());
                    view.EndEpoch(epoch, settings.Epochs, best);
                    eta.StartTraining();
                },
                ct, _run!.Parallel);
            if (outcome.Interrupted && _run.IsRoot)
            {
                session.Save(Path.Combine(outputDirectory, LastCheckpoint));
                view.Message($"epoch {outcome.Position.CompletedEpochs + 1}/{settings.Epochs}: stopped after batch {outcome.Position.BatchesIntoEpoch}/{batches}; checkpoint saved.");
            }
        });
        return outcome;
    }

    /// <summary>
    /// The metrics of the epochs a resumed checkpoint has completed, from the metrics.json its run wrote next to it
    /// (so that resuming into another --out keeps the history and the best epoch); a warning when there is none.
    /// </summary>
    private List<EpochRecord> EarlierEpochs(string checkpoint, int completed)
    {
        string path = Path.Combine(Path.GetDirectoryName(checkpoint)!, "metrics.json");
        var epochs = RunMetrics.ReadEpochs(path).Where(e => e.Epoch <= completed).OrderBy(e => e.Epoch).ToList();
        if (completed > 0 && epochs.Count < completed)
            _log.Warn($"{path} holds {epochs.Count} of the {completed} epoch(s) the checkpoint has completed; metrics.json and the report start from what it has.");
        return epochs;
    }

    /// <summary>
    /// Resuming into another directory: the best checkpoint so far is the resumed run's, so it is copied along
    /// (atomically); the new directory's best.ckpt then always belongs to this run.
    /// </summary>
    private static void CarryBestCheckpoint(string checkpoint, string outputDirectory)
    {
        string from = Path.Combine(Path.GetDirectoryName(checkpoint)!, BestCheckpoint), to = Path.Combine(outputDirectory, BestCheckpoint);
        if (string.Equals(Path.GetFullPath(from), Path.GetFullPath(to), StringComparison.Ordinal) || !File.Exists(from)) return;
        try
        {
            AtomicFile.Write(to, target =>
            {
                using var source = File.OpenRead(from);
                source.CopyTo(target);
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.OutputError($"cannot copy {from} to {to}: {ex.Message}", ex);
        }
    }

    /// <summary>The library's divergence policy with the thresholds of --max-loss-ratio and --allow-chance-accuracy.</summary>
    private DivergencePolicy Divergence()
    {
        var policy = DivergencePolicy.Default with { MaxLossRatio = settings.MaxLossRatio, StopAtChanceAccuracy = !settings.AllowChanceAccuracy };
        try
        {
            policy.Validate();
        }
        catch (ConvNetArgumentException e)
        {
            throw CliException.UsageError($"--max-loss-ratio must be greater than 1, got {settings.MaxLossRatio.ToString(CultureInfo.InvariantCulture)} ({e.Message})");
        }
        return policy;
    }

    private string DataHint()
    {
        var hint = new List<string>();
        if (settings.DataDirectory is not null) hint.Add($"--data {Quote(settings.DataDirectory)}");
        if (settings.UseSample) hint.Add("--sample");
        if (settings.Limit is int n) hint.Add(string.Create(CultureInfo.InvariantCulture, $"--limit {n}"));
        if (settings.Device.Kind != DeviceKind.Auto) hint.Add($"--device {settings.Device}");
        if (settings.Distributed) hint.Add("--distributed (under mpirun -np N, any N: the checkpoint's position is global)");
        return hint.Count == 0 ? "" : " " + string.Join(" ", hint);
    }

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"\"{path}\"" : path;
}
