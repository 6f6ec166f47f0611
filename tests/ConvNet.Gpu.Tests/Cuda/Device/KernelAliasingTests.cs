using System.Text;
using ConvNet.Gpu.Backends.Cuda.Driver;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// The aliasing contract of every kernel (kernels/cn_runtime.cuh, "aliasing"): the "Aliasing:" comment line names
/// exactly the pointer parameters declared GPTR (may alias), every other pointer is GPTR_UNIQUE (__restrict__), and the
/// embedded PTX never reads a may-alias pointer through the non-coherent cache (ld.global.nc), which would return stale
/// data when the output it aliases is written in the same launch. The aliased calls themselves run in
/// <see cref="Ops.AliasingOpsSuite"/> on every backend.
/// </summary>
public sealed class KernelAliasingTests
{
    private static IReadOnlyList<KernelAliasing.Contract> Contracts()
    {
        string? dir = KernelSources.Directory();
        if (dir is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        return KernelAliasing.Parse(dir);
    }

    [Fact]
    public void Every_kernel_states_its_aliasing_and_declares_exactly_those_pointers_as_may_alias()
    {
        var contracts = Contracts();
        Assert.Equal(KernelSources.DeclaredKernelNames().Order(), contracts.Select(c => c.Kernel).Order());
        foreach (var c in contracts)
        {
            Assert.True(c.AliasingLine is not null, $"{c.File}: {c.Kernel} has no \"// Aliasing:\" line in its comment");
            Assert.True(c.MayAlias.Count + c.Unique.Count > 0, $"{c.Kernel}: no pointer parameters found");
            if (c.AliasingLine!.StartsWith("none", StringComparison.Ordinal))
                Assert.True(c.MayAlias.Count == 0, $"{c.Kernel} says \"Aliasing: none\" but declares GPTR (may alias): {string.Join(", ", c.MayAlias)}");
            Assert.True(c.NamedInAliasingLine.SetEquals(c.MayAlias),
                $"{c.File}: {c.Kernel}: the Aliasing line \"{c.AliasingLine}\" names [{string.Join(", ", c.NamedInAliasingLine.Order())}] "
                + $"but the GPTR (may alias) parameters are [{string.Join(", ", c.MayAlias.Order())}]; every other pointer must be GPTR_UNIQUE");
            Assert.True(c.NamedInAliasingLine.All(c.Parameters.Contains), $"{c.Kernel}: the Aliasing line names a non-parameter");
        }
        // The contract is not vacuous: in-place kernels exist, and so do restrict-only ones.
        Assert.Contains(contracts, c => c.Kernel == "cn_activation_fwd" && c.MayAlias.SetEquals(["x", "y"]));
        Assert.Contains(contracts, c => c.Kernel == "cn_im2col" && c.MayAlias.Count == 0 && c.Unique.SetEquals(["x", "col"]));
    }

    [Fact]
    public void The_header_does_not_make_may_alias_pointers_restrict()
    {
        string? dir = KernelSources.Directory();
        if (dir is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        string header = File.ReadAllText(Path.Combine(dir, "cn_runtime.cuh"));
        Assert.Contains("#define GPTR(T) T*\n", header);
        Assert.Contains("#define GPTR_UNIQUE(T) T* __restrict__\n", header);
    }

    [Fact]
    public void Embedded_PTX_never_reads_a_may_alias_pointer_through_the_non_coherent_cache()
    {
        var contracts = Contracts().ToDictionary(c => c.Kernel);
        int ncLoads = 0;
        foreach (var module in EmbeddedPtx.LoadAll())
        {
            string ptx = Encoding.UTF8.GetString(module.Image, 0, module.Image.Length - 1);
            foreach (var (kernel, contract) in contracts)
            {
                string? body = PtxPointerOrigins.KernelBody(ptx, kernel);
                if (body is null) continue;
                var mayAlias = contract.MayAlias.Select(p => contract.Parameters.ToList().IndexOf(p)).ToHashSet();
                foreach (var load in PtxPointerOrigins.NonCoherentLoads(body, kernel))
                {
                    ncLoads++;
                    var bad = load.Parameters.Where(mayAlias.Contains).Select(i => contract.Parameters[i]).ToList();
                    Assert.True(bad.Count == 0,
                        $"{module.ResourceName}: {kernel} reads {string.Join(", ", bad)} (may alias an output: \"{contract.AliasingLine}\") "
                        + $"with a non-coherent load: {load.Instruction}");
                }
            }
        }
        // The analysis sees nc loads at all (through the GPTR_UNIQUE inputs of the gathers), so a pass is not vacuous.
        Assert.True(ncLoads > 0, "no ld.global.nc found in any kernel: the analysis is not looking at the right text");
    }
}
