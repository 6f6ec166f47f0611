using ConvNet.Gpu.KernelGen;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.KernelGen;

/// <summary>
/// The kernel-signature reader behind the generated launchers (src/ConvNet.Gpu.KernelGen) on hand-written kernel files:
/// launch bounds, parameter macros with continuation lines, comments, C# keywords as names, #if blocks, and a clear
/// error naming the kernel, parameter and line for what a launcher cannot pass.
/// </summary>
public sealed class KernelSourceParserTests
{
    private static KernelSourceParser.Result Parse(string cu, string? cuh = null)
    {
        var sources = new List<KernelSourceParser.Source> { new("k.cu", cu) };
        if (cuh is not null) sources.Add(new KernelSourceParser.Source("k.cuh", cuh));
        return KernelSourceParser.Parse(sources);
    }

    private static string Describe(KernelSignature k) =>
        $"{k.Name}:{k.Line}(" + string.Join(", ", k.Parameters.Select(p => $"{p.Kind} {p.Name}{(p.Group is null ? "" : "@" + p.Group)}")) + ")";

    [Fact]
    public void ReadsLaunchBoundsMacrosCommentsAndKeywords()
    {
        const string cu = """
            #include "k.cuh"
            // CN_KERNEL cn_commented(int a)   <- not a kernel
            /* CN_KERNEL cn_block(int a) */
            #define CN_SHAPE_PARAMS int N, \
                int C
            CN_KERNEL CN_LAUNCH_BOUNDS(CN_THREADS, 2) cn_a_fwd(GPTR_UNIQUE(const float) in, GPTR(float) out, // outputs
                CN_SHAPE_PARAMS, long long total, float alpha, unsigned long long seed)
            {
            }
            #if CN_SM80
            CN_KERNEL cn_b_dgrad(GPTR_UNIQUE(const int) x, CN_EXTRA_PARAMS)
            {
            }
            #endif
            """;
        var result = Parse(cu, "#define CN_EXTRA_PARAMS int KH, int KW\n");
        Assert.Empty(result.Errors);
        Assert.Equal(
        [
            "cn_a_fwd:6(Pointer in, Pointer out, Int32 N@CN_SHAPE_PARAMS, Int32 C@CN_SHAPE_PARAMS, Int64 total, Float32 alpha, UInt64 seed)",
            "cn_b_dgrad:11(Pointer x, Int32 KH@CN_EXTRA_PARAMS, Int32 KW@CN_EXTRA_PARAMS)",
        ], result.Kernels.Select(Describe));
        Assert.Equal(["CN_EXTRA_PARAMS", "CN_SHAPE_PARAMS"], result.Groups.Keys);
        Assert.Equal("k.cuh", result.Groups["CN_EXTRA_PARAMS"].File);
        Assert.Equal("GPTR_UNIQUE(const float)", result.Kernels[0].Parameters[0].CType);
        Assert.Equal("@in", KernelNaming.Escape("in"));
        Assert.Equal("total", KernelNaming.Escape("total"));
    }

    [Theory]
    [InlineData("CN_KERNEL cn_k(GPTR(float) y, double d)\n{}", "k.cu:1: kernel cn_k: parameter 'double d' has type 'double'")]
    [InlineData("\nCN_KERNEL cn_k(GPTR(float) y, CN_MISSING_PARAMS)\n{}", "k.cu:2: kernel cn_k: parameter 'CN_MISSING_PARAMS' is neither a declaration nor a macro")]
    [InlineData("CN_KERNEL cn_k(float* y)\n{}", "k.cu:1: kernel cn_k: cannot read parameter 'float* y'")]
    [InlineData("CN_KERNEL cn_k(GPTR(float) y, int n\n", "k.cu:1: kernel cn_k: no ')' closes its parameter list")]
    public void WhatALauncherCannotPassIsAnErrorNamingTheKernelParameterAndLine(string cu, string message)
    {
        var result = Parse(cu);
        Assert.Empty(result.Kernels);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith(message, $"{error.File}:{error.Line}: {error.Message}");
    }

    [Theory]
    [InlineData("cn_maxpool_fwd", "MaxPoolForward")]
    [InlineData("cn_igemm_wgrad_f32_async", "ImplicitBackwardWeightsF32Async")]
    [InlineData("cn_softmax_xent_bwd", "SoftmaxCrossEntropyBackward")]
    [InlineData("cn_batchnorm_fwd_infer", "BatchNormForwardInference")]
    [InlineData("cn_dw_dgrad", "DepthwiseBackwardData")]
    [InlineData("cn_probe_shfl", "ProbeShuffle")]
    [InlineData("cn_swap_outer", "SwapOuter")]
    public void KernelNamesSpellOutTheShortWordsOfTheCNames(string cName, string csharp) =>
        Assert.Equal(csharp, KernelNaming.KernelName(cName));

    [Fact]
    public void ParameterMacrosBecomeStructsNamedAfterTheMacro()
    {
        Assert.Equal("GeometryParams", KernelNaming.GroupStruct("CN_GEOMETRY_PARAMS"));
        Assert.Equal("DepthwiseParams", KernelNaming.GroupStruct("CN_DW_PARAMS"));
        Assert.Equal("geometry", KernelNaming.GroupParameter("CN_GEOMETRY_PARAMS"));
    }
}
