using System.Globalization;

using ConvNet.Gpu.Distributed.Mpi;

namespace ConvNet.Gpu.Distributed;

/// <summary>
/// Where this process stands in a multi-process launch, read from the launcher's environment: Open MPI's mpirun sets
/// OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE and OMPI_COMM_WORLD_LOCAL_RANK; torchrun-style launchers set RANK,
/// WORLD_SIZE and LOCAL_RANK. Neither: a single process (rank 0 of 1). The local rank picks the GPU (cuda:LOCAL_RANK).
/// </summary>
/// <param name="Rank">This process's rank.</param>
/// <param name="WorldSize">The number of processes.</param>
/// <param name="LocalRank">The rank among the processes on this machine.</param>
/// <param name="Source">Which variables the values came from, for logs.</param>
public sealed record LaunchEnvironment(int Rank, int WorldSize, int LocalRank, string Source)
{
    /// <summary>The single-process environment.</summary>
    public static LaunchEnvironment Single { get; } = new(0, 1, 0, "no launcher variables: a single process");

    /// <summary>True when the values came from Open MPI's mpirun (so MPI can bootstrap the collectives).</summary>
    public bool IsOpenMpi => Source.StartsWith("OMPI_", StringComparison.Ordinal);

    /// <summary>Reads the launcher variables of this process.</summary>
    /// <exception cref="ConvNetArgumentException">A variable is not an integer, or the rank is outside [0, world size).</exception>
    public static LaunchEnvironment Detect() => Detect(name => Environment.GetEnvironmentVariable(name));

    /// <summary>Reads the launcher variables through <paramref name="variable"/> (a lookup by name; null when unset).</summary>
    public static LaunchEnvironment Detect(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (variable("OMPI_COMM_WORLD_SIZE") is not null)
            return Parse(variable, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK");
        if (variable("WORLD_SIZE") is not null)
            return Parse(variable, "RANK", "WORLD_SIZE", "LOCAL_RANK");
        return Single;
    }

    private static LaunchEnvironment Parse(Func<string, string?> variable, string rankName, string sizeName, string localName)
    {
        int size = Read(variable, sizeName, required: true);
        int rank = Read(variable, rankName, required: true);
        int local = Read(variable, localName, required: false);
        if (size < 1) throw new ConvNetArgumentException($"{sizeName}={size}: the world size must be at least 1.");
        if (rank < 0 || rank >= size) throw new ConvNetArgumentException($"{rankName}={rank} is outside [0, {sizeName}={size}).");
        if (local < 0) throw new ConvNetArgumentException($"{localName}={local} must be >= 0.");
        return new LaunchEnvironment(rank, size, local, $"{rankName}/{sizeName}/{localName}");
    }

    private static int Read(Func<string, string?> variable, string name, bool required)
    {
        string? text = variable(name);
        if (text is null)
            return required ? throw new ConvNetArgumentException($"The launcher set the world size but not {name}.") : 0;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new ConvNetArgumentException($"{name}='{text}' is not an integer.");
    }
}

/// <summary>Creates the collectives for a <see cref="LaunchEnvironment"/>.</summary>
public static class Collectives
{
    /// <summary>
    /// The world of 1 when <paramref name="environment"/> has one rank (no MPI is loaded); MPI when the process was
    /// started by Open MPI's mpirun (MPI's rank and size must agree with the environment's).
    /// </summary>
    /// <param name="environment">From <see cref="LaunchEnvironment.Detect()"/>.</param>
    /// <param name="timeout">How long one collective may wait for the other ranks (default 5 minutes).</param>
    /// <exception cref="CollectivesUnavailableException">
    /// More than one rank without mpirun (host collectives need MPI), or MPI cannot be loaded; the message says why.
    /// </exception>
    public static ICollectives Create(LaunchEnvironment environment, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (timeout is TimeSpan t && t <= TimeSpan.Zero)
            throw new ConvNetArgumentException($"The collective timeout must be positive, got {t.TotalSeconds} s.", nameof(timeout));
        if (environment.WorldSize == 1) return new SingleProcessCollectives { Timeout = timeout ?? TimeSpan.FromMinutes(5) };
        if (!environment.IsOpenMpi)
            throw new CollectivesUnavailableException(
                $"{environment.Source} say rank {environment.Rank} of {environment.WorldSize}, but the process was not started by Open MPI's " +
                "mpirun: host-memory collectives need MPI. Launch with `mpirun -np N convnet train --distributed ...`.");
        var mpi = MpiCollectives.Create(timeout);
        if (mpi.Rank != environment.Rank || mpi.WorldSize != environment.WorldSize)
        {
            var e = new CollectivesUnavailableException(
                $"MPI says rank {mpi.Rank} of {mpi.WorldSize} but {environment.Source} say rank {environment.Rank} of {environment.WorldSize}.");
            mpi.Dispose();
            throw e;
        }
        return mpi;
    }
}
