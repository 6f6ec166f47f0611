namespace ConvNet.Gpu;

/// <summary>Memory accounting of one backend, in bytes.</summary>
/// <param name="BytesInUse">Bytes held by live tensors and workspaces.</param>
/// <param name="PeakBytesInUse">High-water mark of <paramref name="BytesInUse"/> since creation or the last reset.</param>
/// <param name="BytesCached">Bytes freed by tensors but kept by a caching pool for reuse (0 without a pool).</param>
/// <param name="LiveAllocations">Number of live allocations.</param>
public readonly record struct MemoryStats(long BytesInUse, long PeakBytesInUse, long BytesCached, long LiveAllocations);
