using System.Globalization;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Distributed.Mpi;
using ConvNet.Gpu.Distributed.Nccl;
using ConvNet.Gpu.Training.Distributed;

namespace ConvNet.Gpu.Cli.Training;

/// <summary>
/// What <c>convnet train --distributed</c> adds to a run: the launch environment, the collectives and the
/// <see cref="DataParallel"/> setup handed to the trainer, the device of this rank, and the rule that rank 0 alone
/// prints and writes (the other ranks get a console that drops everything but errors). Without --distributed it is the
/// single-process run, and it refuses to start when mpirun launched several ranks without the flag (they would all
/// write the same files).
/// </summary>
internal sealed class DistributedRun : IDisposable
{
    private readonly ICollectives? _collectives;
    private readonly TrainSettings _settings;
    private NcclCommunicator? _nccl;
    private string _gradientEngine = "";

    private DistributedRun(LaunchEnvironment environment, ICollectives? collectives, TrainSettings settings, CliConsole console)
    {
        Environment = environment;
        _collectives = collectives;
        _settings = settings;
        Console = console;
    }

    /// <summary>Where this process stands in the launch.</summary>
    public LaunchEnvironment Environment { get; }

    /// <summary>The data-parallel setup (after <see cref="Attach"/>), or null for a single process.</summary>
    public DataParallel? Parallel { get; private set; }

    /// <summary>True for the rank that prints and writes files (rank 0, or the only process).</summary>
    public bool IsRoot => Environment.Rank == 0;

    /// <summary>The console of this rank: the real one on rank 0, errors only elsewhere.</summary>
    public CliConsole Console { get; }

    /// <summary>Reads the launcher's variables and, with --distributed, joins the other ranks.</summary>
    public static DistributedRun Start(TrainSettings settings, CliConsole console, CancellationToken cancellation)
    {
        LaunchEnvironment environment;
        try
        {
            environment = LaunchEnvironment.Detect();
        }
        catch (ConvNetArgumentException e)
        {
            throw CliException.UsageError($"--distributed: {e.Message}");
        }
        if (!settings.Distributed)
        {
            if (environment.WorldSize > 1)
                throw CliException.UsageError(
                    $"this process is rank {environment.Rank} of {environment.WorldSize} ({environment.Source}) but --distributed was not given: " +
                    "every rank would train alone and write the same files. Add --distributed.");
            if (settings.SyncBatchNorm) throw CliException.UsageError("--sync-batchnorm needs --distributed.");
            return new DistributedRun(environment, null, settings, console);
        }

        ICollectives collectives;
        try
        {
            collectives = Collectives.Create(environment, TimeSpan.FromSeconds(settings.CollectiveTimeoutSeconds));
        }
        catch (CollectivesUnavailableException e)
        {
            throw new CliException(ExitCodes.Distributed, $"--distributed: {e.Message}", e);
        }
        if (collectives is MpiCollectives mpi) mpi.WaitCancellation = cancellation;
        var rankConsole = environment.Rank == 0 ? console : new CliConsole(TextWriter.Null, console.Error, isTerminal: false);
        return new DistributedRun(environment, collectives, settings, rankConsole);
    }

    /// <summary>
    /// Creates the data-parallel setup for <paramref name="backend"/>: gradients through NCCL in device memory when the
    /// backend is a real CUDA device and NCCL loads, else through host buffers over MPI (the reason is logged).
    /// </summary>
    public void Attach(IBackend backend)
    {
        if (_collectives is null) return;
        IDeviceCollectives? device = null;
        if (backend is ConvNet.Gpu.Backends.Cuda.CudaBackend cuda)
        {
            string? reason = NcclCommunicator.UnavailableReason(cuda);
            if (reason is null)
            {
                _nccl = NcclCommunicator.Create(_collectives, cuda);
                device = _nccl;
                _gradientEngine = $"gradients by {_nccl.Description}";
            }
            else
            {
                _gradientEngine = $"gradients through host buffers over MPI (NCCL unavailable, because {reason})";
            }
        }
        else
        {
            _gradientEngine = "gradients through host buffers over MPI";
        }
        Parallel = new DataParallel(_collectives, new DataParallelOptions
        {
            BucketBytes = (long)_settings.BucketKilobytes * 1024, SynchronizeBatchNorm = _settings.SyncBatchNorm,
        }, device);
    }

    /// <summary>
    /// This rank's device: with --distributed, "auto" and "cuda" mean GPU LOCAL_RANK when CUDA works, and the CPU
    /// backend gets cores / ranks-on-this-machine threads unless --threads says otherwise.
    /// </summary>
    public (DeviceRequest Request, int? Threads) Device(TrainSettings settings)
    {
        if (_collectives is null) return (settings.Device, settings.Threads);
        int localRanks = int.TryParse(System.Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE")
            ?? System.Environment.GetEnvironmentVariable("LOCAL_WORLD_SIZE"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1;
        int threads = settings.Threads ?? Math.Max(1, System.Environment.ProcessorCount / localRanks);
        var request = settings.Device;
        if (settings.GpuFromLocalRank && (request.Kind == DeviceKind.Cuda || (request.Kind == DeviceKind.Auto && Backend.QueryCuda().IsAvailable)))
            request = new DeviceRequest(DeviceKind.Cuda, Environment.LocalRank);
        return (request, threads);
    }

    /// <summary>One line for the log: engine, ranks and settings, or null for a single process.</summary>
    public string? Describe(TrainSettings settings) => _collectives is null ? null : string.Create(CultureInfo.InvariantCulture,
        $"{_collectives!.Description}; {_gradientEngine}; {Environment.Source}; global batch {settings.BatchSize} split over {Environment.WorldSize} ranks; " +
        $"{settings.BucketKilobytes} KiB gradient buckets; BatchNorm {(settings.SyncBatchNorm ? "synchronized" : "per rank")}; " +
        $"collective timeout {settings.CollectiveTimeoutSeconds:0.###} s");

    /// <summary>Communication statistics of this rank, for the log.</summary>
    public string? Statistics()
    {
        if (Parallel is null || Parallel.Statistics.Steps == 0) return null;
        var s = Parallel.Statistics;
        return string.Create(CultureInfo.InvariantCulture,
            $"rank {Environment.Rank}: {s.Steps} steps, {s.BytesPerStep / 1024.0:0.#} KiB all-reduced per step in {Parallel.BucketCount} bucket(s); " +
            $"communication {s.CommunicationShare * 100:0.0}% of step time ({s.CommunicationTime.TotalSeconds:0.00} s of {s.StepTime.TotalSeconds:0.00} s), " +
            $"of which {s.ExposedWait.TotalSeconds:0.00} s waiting after backward");
    }

    /// <summary>Finalizes MPI (left alone after a failed collective: the process exits and mpirun ends the job).</summary>
    public void Dispose()
    {
        Parallel?.Dispose();
        _nccl?.Dispose();
        _collectives?.Dispose();
    }
}
