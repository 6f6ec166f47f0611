using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Backends.Cuda.Driver;
using ConvNet.Gpu.Backends.Cuda.Emulation;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// The kernels CudaBackend launches (<see cref="KernelNames"/>) are exactly the kernels kernels/*.cu defines: each one is
/// an entry of the embedded PTX (what a GPU loads) and registered in the emulator library (what CI runs), and no kernel
/// is compiled that the backend never launches.
/// </summary>
public sealed partial class CudaKernelInventoryTests
{
    private static IReadOnlyList<string> BackendKernels() =>
        typeof(KernelNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void EveryLaunchedKernelIsInTheEmbeddedPtxAndNoPtxKernelIsUnused()
    {
        // The sm_80 set holds every kernel; the sm_70 set every kernel but the sm_80-only ones (#if CN_SM80).
        var sm80Only = Device.KernelSources.Sm80OnlyKernelNames();
        foreach (int target in EmbeddedPtx.Targets)
        {
            var entries = EmbeddedPtx.LoadFor(target)
                .SelectMany(m => PtxEntry().Matches(Encoding.UTF8.GetString(m.Image)).Select(x => x.Groups[1].Value))
                .Order(StringComparer.Ordinal).ToList();
            Assert.NotEmpty(entries);
            Assert.Equal(BackendKernels().Where(k => target >= 80 || !sm80Only.Contains(k)), entries);
        }
    }

    [Fact]
    public void EveryLaunchedKernelIsRegisteredInTheEmulator()
    {
        string? reason = EmulatedCudaDevice.UnavailableReason();
        if (reason is not null) Assert.Skip($"CUDA (emulated) unavailable: {reason}");
        Assert.Equal(BackendKernels(), EmulatedCudaDevice.KernelNames().Order(StringComparer.Ordinal).ToList());
    }

    [GeneratedRegex(@"^\.visible \.entry (\w+)\(", RegexOptions.Multiline)]
    private static partial Regex PtxEntry();
}
