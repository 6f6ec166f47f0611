using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Backends.Cuda;
using ConvNet.Gpu.Backends.Cuda.Driver;
using ConvNet.Gpu.Backends.Cuda.Kernels;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.KernelGen;

/// <summary>
/// The launchers generated from kernels/*.cu (<see cref="CudaKernels"/>) against an independent oracle, the compiler's
/// PTX: every kernel has exactly one launcher, and the arguments a launcher packs have the count, order and C types of
/// the kernel's <c>.param</c> list (device pointers and <c>long long</c> are .u64, <c>int</c> .u32, <c>float</c> .f32).
/// </summary>
public sealed partial class GeneratedLauncherTests
{
    private static IReadOnlyList<MethodInfo> Launchers() =>
        typeof(CudaKernels).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(KernelCall)).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

    private static Dictionary<string, string> KernelConstants() =>
        typeof(KernelNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);

    /// <summary>Kernel name -> its PTX parameter types ("u64", "u32", "f32"), from the sm_80 modules (every kernel is there).</summary>
    private static Dictionary<string, List<string>> PtxParameters()
    {
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var module in EmbeddedPtx.LoadFor(80))
        {
            string ptx = Encoding.UTF8.GetString(module.Image);
            foreach (Match entry in PtxEntry().Matches(ptx))
                map[entry.Groups[1].Value] = PtxParam().Matches(entry.Groups[2].Value).Select(p => p.Groups[1].Value).ToList();
        }
        return map;
    }

    /// <summary>Calls <paramref name="launcher"/> with distinct values (1, 2, 3, ... in parameter order, structs field by field).</summary>
    private static (KernelCall Call, List<ulong> Expected) Invoke(MethodInfo launcher)
    {
        ulong next = 1;
        var expected = new List<ulong>();
        object Value(Type type)
        {
            ulong v = next++;
            expected.Add(type == typeof(float) ? BitConverter.SingleToUInt32Bits(v) : v);
            return type == typeof(ulong) ? v : type == typeof(long) ? (long)v : type == typeof(int) ? (int)v
                : type == typeof(float) ? (object)(float)v : throw new InvalidOperationException($"{launcher.Name}: parameter type {type}");
        }
        var arguments = launcher.GetParameters().Select(p =>
        {
            var type = p.ParameterType.IsByRef ? p.ParameterType.GetElementType()! : p.ParameterType;
            if (type.IsPrimitive) return Value(type);
            // A parameter-macro struct (e.g. GeometryParams): its positional constructor takes the values in order.
            var ctor = type.GetConstructors().Single(c => c.GetParameters().Length > 0);
            return ctor.Invoke(ctor.GetParameters().Select(cp => Value(cp.ParameterType)).ToArray());
        }).ToArray();
        return ((KernelCall)launcher.Invoke(null, arguments)!, expected);
    }

    private static string PtxType(KernelArgKind kind) => kind switch
    {
        KernelArgKind.Pointer or KernelArgKind.Int64 or KernelArgKind.UInt64 => "u64",
        KernelArgKind.Int32 => "u32",
        KernelArgKind.Float32 => "f32",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Fact]
    public void EveryKernelHasExactlyOneLauncherNamedLikeItsKernelNamesConstant()
    {
        var constants = KernelConstants();
        Assert.Equal(constants.Values.Order(StringComparer.Ordinal), KernelNames.All.Order(StringComparer.Ordinal));
        Assert.Equal(constants.Keys.Order(StringComparer.Ordinal), Launchers().Select(m => m.Name));
        foreach (var launcher in Launchers())
            Assert.Equal(constants[launcher.Name], Invoke(launcher).Call.Name);
    }

    [Fact]
    public void EachLauncherPacksItsKernelsPtxParameterListInOrder()
    {
        var ptx = PtxParameters();
        Assert.NotEmpty(ptx);
        foreach (var launcher in Launchers())
        {
            var (call, expected) = Invoke(launcher);
            Assert.True(ptx.TryGetValue(call.Name, out var parameters), $"{call.Name} is not an entry of the sm_80 PTX");
            var packed = Enumerable.Range(0, call.Args.Count).Select(i => PtxType(call.Args.KindAt(i))).ToList();
            Assert.True(parameters.SequenceEqual(packed),
                $"{call}: PTX .param list ({string.Join(", ", parameters)}) != launcher ({string.Join(", ", packed)})");
            // The values land in C# parameter order, each in its own slot (4-byte kinds zero-extended).
            Assert.Equal(expected, Enumerable.Range(0, call.Args.Count).Select(i => call.Args.RawAt(i)));
        }
    }

    [Fact]
    public void LaunchersTakeDevicePointersAsUlongAndTheScalarsAsTheirCTypes()
    {
        // cn_dropout_fwd(GPTR(const float) x, GPTR(float) y, GPTR_UNIQUE(float) mask, long long n, float p, float keepScale,
        //                unsigned long long seed, unsigned long long offset): the one kernel with every kind.
        var call = CudaKernels.DropoutForward(x: 0x1000, y: 0x2000, mask: 0x3000, n: 7, p: 0.5f, keepScale: 2f, seed: 9, offset: 11);
        Assert.Equal(KernelNames.DropoutForward, call.Name);
        Assert.Equal("(device pointer, device pointer, device pointer, long long, float, float, unsigned long long, unsigned long long)",
            call.Args.ToString());
        Assert.Equal(BitConverter.SingleToUInt32Bits(0.5f), call.Args.RawAt(4));
    }

    [Fact]
    public void CudaBackendPacksNoKernelArgumentsByHand()
    {
        // Every launch of the backend goes through a generated launcher; a hand-filled KernelArgs could drift from the
        // kernel again. (The device layer and its tests build KernelArgs directly: that is their job.)
        string? kernels = Device.KernelSources.Directory();
        if (kernels is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        string cuda = Path.Combine(Path.GetDirectoryName(kernels)!, "src", "ConvNet.Gpu", "Backends", "Cuda");
        var byHand = Directory.GetFiles(cuda, "CudaBackend*.cs")
            .Where(f => HandPacking().IsMatch(File.ReadAllText(f))).Select(Path.GetFileName).ToList();
        Assert.True(byHand.Count == 0,
            $"These files pack kernel arguments by hand; launch with CudaKernels.X(...) instead: {string.Join(", ", byHand)}");
    }

    [GeneratedRegex(@"new\s+KernelArgs\s*\(|\bKernelArgs\s+\w+\s*=|\.AddPointer\s*\(")]
    private static partial Regex HandPacking();

    // `.visible .entry name(` params `)`: the parameter list, one `.param .type name_param_i` per line.
    [GeneratedRegex(@"^\.visible \.entry (\w+)\(([^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex PtxEntry();

    [GeneratedRegex(@"\.param\s+\.(\w+)\s+\w+_param_\d+")]
    private static partial Regex PtxParam();
}
