namespace ConvNet.Gpu.Backends.Cuda.Interop;

/// <summary>The CUresult codes this code reacts to (the rest are reported by name via cuGetErrorName).</summary>
internal static class CuResult
{
    public const int Success = 0;
    public const int InvalidValue = 1;
    public const int OutOfMemory = 2;
    public const int NotInitialized = 3;
    public const int NoDevice = 100;
    public const int InvalidDevice = 101;
    public const int InvalidPtx = 218;
    public const int UnsupportedPtxVersion = 222;
    public const int NotFound = 500;
    public const int NotReady = 600;
    public const int IllegalAddress = 700;
    public const int LaunchOutOfResources = 701;
    public const int LaunchTimeout = 702;
    public const int HardwareStackError = 714;
    public const int IllegalInstruction = 715;
    public const int MisalignedAddress = 716;
    public const int InvalidAddressSpace = 717;
    public const int InvalidPc = 718;
    public const int LaunchFailed = 719;
    public const int StreamCaptureUnsupported = 900;
    public const int StreamCaptureInvalidated = 901;
    public const int Unknown = 999;

    /// <summary>
    /// Errors that corrupt the context: every later call on it fails, so the device refuses further work
    /// (the process must create a new context, in practice restart).
    /// </summary>
    public static bool IsSticky(int code) => code is IllegalAddress or LaunchTimeout or HardwareStackError
        or IllegalInstruction or MisalignedAddress or InvalidAddressSpace or InvalidPc or LaunchFailed or 710 /* assert */;

    /// <summary>Fallback names for when the driver cannot be asked (e.g. libcuda missing).</summary>
    public static string FallbackName(int code) => code switch
    {
        Success => "CUDA_SUCCESS",
        InvalidValue => "CUDA_ERROR_INVALID_VALUE",
        OutOfMemory => "CUDA_ERROR_OUT_OF_MEMORY",
        NotInitialized => "CUDA_ERROR_NOT_INITIALIZED",
        NoDevice => "CUDA_ERROR_NO_DEVICE",
        InvalidDevice => "CUDA_ERROR_INVALID_DEVICE",
        InvalidPtx => "CUDA_ERROR_INVALID_PTX",
        UnsupportedPtxVersion => "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
        NotFound => "CUDA_ERROR_NOT_FOUND",
        NotReady => "CUDA_ERROR_NOT_READY",
        StreamCaptureUnsupported => "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
        StreamCaptureInvalidated => "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
        IllegalAddress => "CUDA_ERROR_ILLEGAL_ADDRESS",
        LaunchOutOfResources => "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
        LaunchFailed => "CUDA_ERROR_LAUNCH_FAILED",
        Unknown => "CUDA_ERROR_UNKNOWN",
        _ => $"CUresult {code}",
    };
}
