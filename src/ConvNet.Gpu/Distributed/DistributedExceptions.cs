namespace ConvNet.Gpu.Distributed;

/// <summary>
/// Base of every failure of a collective or of the communication libraries behind it. The message names the
/// call or the collective operation, this process's rank and, where known, the ranks at fault.
/// </summary>
public class CollectiveException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CollectiveException(string message) : base(message) { }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public CollectiveException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>An MPI call returned an error code (the communicator returns errors instead of aborting).</summary>
public sealed class MpiException : CollectiveException
{
    /// <summary>Creates the exception for a failed MPI call.</summary>
    public MpiException(string call, int code, string errorString)
        : base($"{call} failed with MPI error {code}: {errorString}")
    {
        Call = call;
        Code = code;
    }

    /// <summary>The MPI function that failed, e.g. "MPI_Isend".</summary>
    public string Call { get; }

    /// <summary>The MPI error code.</summary>
    public int Code { get; }
}

/// <summary>A NCCL call returned a status other than ncclSuccess.</summary>
public sealed class NcclException : CollectiveException
{
    /// <summary>Creates the exception for a failed NCCL call.</summary>
    public NcclException(string call, int status, string errorString)
        : base($"{call} failed with NCCL status {status}: {errorString}")
    {
        Call = call;
        Status = status;
    }

    /// <summary>The NCCL function that failed, e.g. "ncclAllReduce".</summary>
    public string Call { get; }

    /// <summary>The ncclResult_t value.</summary>
    public int Status { get; }
}

/// <summary>
/// A collective did not complete within its deadline: a rank died, hangs or runs a different program. The message
/// names the operation, the ranks whose data never arrived and the timeout. The process cannot use the collectives
/// afterwards (MPI cannot cancel a half-done exchange); end it with a non-zero exit (the CLI calls MPI_Abort).
/// </summary>
public sealed class CollectiveTimeoutException : CollectiveException
{
    /// <summary>Creates the exception.</summary>
    public CollectiveTimeoutException(string operation, int rank, IReadOnlyList<int> missingRanks, TimeSpan timeout)
        : base($"Rank {rank}: {operation} did not complete within the {timeout.TotalSeconds:0.###} s collective timeout; " +
               $"no data arrived from rank{(missingRanks.Count == 1 ? "" : "s")} {string.Join(", ", missingRanks)} " +
               "(that rank died, hangs, or is running a different step). Resume from the last checkpoint.")
    {
        Operation = operation;
        Rank = rank;
        MissingRanks = missingRanks;
        Timeout = timeout;
    }

    /// <summary>The collective that timed out, e.g. "all-reduce of gradient bucket 2 (step 17)".</summary>
    public string Operation { get; }

    /// <summary>This process's rank.</summary>
    public int Rank { get; }

    /// <summary>The ranks whose contribution never arrived.</summary>
    public IReadOnlyList<int> MissingRanks { get; }

    /// <summary>The deadline that passed.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>
/// The ranks were started with different models, batch sizes, data or settings (found by the start-up fingerprint
/// all-gather, before any training step). The message names the field, and the ranks and values that differ.
/// </summary>
public sealed class DistributedMismatchException : CollectiveException
{
    /// <summary>Creates the exception.</summary>
    public DistributedMismatchException(string message) : base(message) { }
}

/// <summary>
/// A communication engine cannot be used here; <see cref="Exception.Message"/> says why ("NCCL unavailable, because
/// libnccl.so.2 was not found (tried ...)").
/// </summary>
public sealed class CollectivesUnavailableException : CollectiveException
{
    /// <summary>Creates the exception.</summary>
    public CollectivesUnavailableException(string message) : base(message) { }
}
