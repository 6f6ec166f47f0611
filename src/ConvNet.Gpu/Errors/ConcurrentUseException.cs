namespace ConvNet.Gpu;

/// <summary>
/// Two threads used one backend or one model at the same time. Backends and models keep per-object scratch memory
/// (convolution workspaces, a CUDA stream, activation buffers), so overlapping calls would silently corrupt each
/// other's results; the second caller gets this exception instead, before it touches anything, and the first call
/// completes normally. Give each thread its own backend and model, or serialize the calls.
/// </summary>
public sealed class ConcurrentUseException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="resource">What was shared, e.g. "backend 'CPU'" or "model 'lenet5'".</param>
    /// <param name="operation">The call that was refused.</param>
    /// <param name="ownerOperation">The call in progress on the other thread.</param>
    /// <param name="ownerThread">The thread in the middle of <paramref name="ownerOperation"/> ("thread 12 'worker'").</param>
    /// <param name="callerThread">The refused thread.</param>
    public ConcurrentUseException(string resource, string operation, string ownerOperation, string ownerThread, string callerThread)
        : base($"{resource} is in use by {ownerThread} ({ownerOperation}) while {callerThread} called {operation}: a {Kind(resource)} " +
               "serves one thread at a time, and overlapping calls would corrupt each other's results. Give each thread its own " +
               $"{Kind(resource)}, or serialize the calls.")
    {
        Resource = resource;
        Operation = operation;
        OwnerOperation = ownerOperation;
        OwnerThread = ownerThread;
        CallerThread = callerThread;
    }

    /// <summary>What was shared.</summary>
    public string Resource { get; }

    /// <summary>The refused call.</summary>
    public string Operation { get; }

    /// <summary>The call in progress on the other thread.</summary>
    public string OwnerOperation { get; }

    /// <summary>The thread that was using the resource, as "thread ID 'name'".</summary>
    public string OwnerThread { get; }

    /// <summary>The refused thread, as "thread ID 'name'".</summary>
    public string CallerThread { get; }

    private static string Kind(string resource) => resource.Split(' ')[0];
}
