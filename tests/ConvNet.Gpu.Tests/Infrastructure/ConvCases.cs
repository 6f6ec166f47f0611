using Xunit;

namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// The convolution shape table (testing.md, "Coverage"): stride 1/2/3; padding valid/same/full/asymmetric; dilation 1/2;
/// groups 1/2/depthwise; 1x1 kernels; kernel equal to the padded input; batch 1; odd sizes; more and fewer output channels
/// than input. Shapes are small so the whole table stays cheap on every backend. Theories take the case name.
/// </summary>
public static class ConvCases
{
    /// <summary>One convolution case: an input shape, an output-channel count and a specification.</summary>
    public sealed record Case(string Name, int N, int C, int H, int W, int K, Conv2dSpec Spec)
    {
        /// <summary>The resolved geometry.</summary>
        public Conv2dGeometry Geometry => Spec.Resolve(TensorShape.Nchw(N, C, H, W), K);

        /// <summary>A larger case, left out of the element-by-element gradient checks.</summary>
        public bool Medium { get; init; }
    }

    private static readonly Case[] All =
    [
        new("k3_s1_valid", 2, 3, 7, 6, 4, Conv2dSpec.Square(3)),
        new("k3_s2_same", 2, 3, 7, 8, 5, new Conv2dSpec(3, 3, 2, 2, Padding2d.Same)),
        new("k3_s3_pad1", 1, 2, 9, 7, 3, Conv2dSpec.Square(3, stride: 3, padding: 1)),
        new("k2_full", 2, 2, 4, 5, 3, new Conv2dSpec(2, 2, padding: Padding2d.Full)),
        new("k3_same_s1", 1, 2, 5, 6, 3, new Conv2dSpec(3, 3, padding: Padding2d.Same)),
        new("k4_same_even_kernel", 1, 2, 6, 5, 2, new Conv2dSpec(4, 4, padding: Padding2d.Same)),
        new("asym_pad_t2b0l1r3", 1, 3, 5, 6, 2, new Conv2dSpec(3, 3, padding: Padding2d.Explicit(2, 0, 1, 3))),
        new("k3_dil2_pad2", 2, 2, 9, 8, 3, Conv2dSpec.Square(3, padding: 2, dilation: 2)),
        new("k3_dil2_s2_pad1", 1, 3, 9, 10, 4, Conv2dSpec.Square(3, stride: 2, padding: 1, dilation: 2)),
        new("dil_h1_w2_s2x3", 1, 2, 7, 11, 3, new Conv2dSpec(3, 2, 2, 3, Padding2d.Symmetric(1, 2), 1, 2)),
        new("groups2_pad1", 2, 4, 6, 5, 6, Conv2dSpec.Square(3, padding: 1, groups: 2)),
        new("groups2_s2_dil2", 1, 4, 9, 9, 4, Conv2dSpec.Square(3, stride: 2, padding: 1, dilation: 2, groups: 2)),
        new("depthwise_s2_pad1", 2, 4, 7, 7, 4, Conv2dSpec.Square(3, stride: 2, padding: 1, groups: 4)),
        new("depthwise_multiplier2", 1, 3, 6, 5, 6, Conv2dSpec.Square(3, groups: 3)),
        new("k1x1", 2, 5, 4, 3, 3, Conv2dSpec.Square(1)),
        new("k1x1_s2", 1, 3, 5, 5, 4, Conv2dSpec.Square(1, stride: 2)),
        new("k1x1_pad2", 1, 2, 3, 4, 2, Conv2dSpec.Square(1, padding: 2)),
        new("kernel_eq_padded_input", 2, 2, 4, 5, 3, new Conv2dSpec(6, 7, padding: Padding2d.Symmetric(1))),
        new("kernel_eq_input", 1, 3, 5, 5, 2, Conv2dSpec.Square(5)),
        new("batch1_odd_sizes", 1, 3, 7, 5, 5, Conv2dSpec.Square(3)),
        new("more_out_channels_C1_K8", 2, 1, 6, 6, 8, Conv2dSpec.Square(3, padding: 1)),
        new("fewer_out_channels_C8_K2", 1, 8, 5, 4, 2, Conv2dSpec.Square(3)),
        new("rect_k2x3_s2x1_asym", 2, 2, 6, 7, 3, new Conv2dSpec(2, 3, 2, 1, Padding2d.Explicit(0, 1, 2, 0))),
        new("stride_gt_kernel", 1, 2, 8, 9, 2, Conv2dSpec.Square(2, stride: 3)),
        // Medium shapes: several GEMM/kernel tiles in every dimension, and reductions longer than 256 (C*KH*KW = 288).
        new("medium_C16_K33_pad1", 2, 16, 17, 19, 33, Conv2dSpec.Square(3, padding: 1)) { Medium = true },
        new("medium_C32_K20_s2_groups2", 2, 32, 15, 16, 20, Conv2dSpec.Square(3, stride: 2, padding: 1, groups: 2)) { Medium = true },
        new("medium_C32_K24_k3_reduction288", 1, 32, 12, 13, 24, Conv2dSpec.Square(3)) { Medium = true },
    ];

    private static readonly Dictionary<string, Case> ByName = All.ToDictionary(c => c.Name);

    /// <summary>Every case name, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Names => new(All.Select(c => c.Name));

    /// <summary>The small cases only: the float64 gradient checks perturb every element of them.</summary>
    public static TheoryData<string> SmallNames => new(All.Where(c => !c.Medium).Select(c => c.Name));

    /// <summary>Case names whose im2col windows never overlap (stride &gt;= effective kernel): col2im is then a pure scatter, compared exactly.</summary>
    public static TheoryData<string> NonOverlappingNames => new(All.Where(c =>
        c.Spec.StrideH >= c.Spec.EffectiveKernelH && c.Spec.StrideW >= c.Spec.EffectiveKernelW).Select(c => c.Name));

    /// <summary>
    /// A subset for the float32 gradient checks on backends (each perturbs every element, so it runs the forward op hundreds
    /// of times): strides 2/3, same/full/asymmetric padding, dilation, groups, depthwise, 1x1, kernel = padded input, K &gt; C and K &lt; C.
    /// The float64 reference is gradient-checked on every case.
    /// </summary>
    public static TheoryData<string> GradientNames => new(
        "k3_s2_same", "k2_full", "asym_pad_t2b0l1r3", "k3_dil2_s2_pad1", "groups2_s2_dil2", "depthwise_s2_pad1", "k1x1_s2",
        "kernel_eq_padded_input", "more_out_channels_C1_K8", "fewer_out_channels_C8_K2", "rect_k2x3_s2x1_asym", "k3_s3_pad1");

    /// <summary>
    /// The longest sum of products any pass of any case computes: C/G*KH*KW (forward), K/G*KH*KW (backward-data) or
    /// N*OH*OW (backward-weights). TF32 tolerances grow with it.
    /// </summary>
    public static long LongestReduction => All.Max(c =>
    {
        var g = c.Geometry;
        return Math.Max((long)g.ColumnRowsPerGroup, Math.Max((long)g.KPerGroup * g.KH * g.KW, (long)g.N * g.OutputPlane));
    });

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static Case Get(string name) => ByName[name];

    /// <summary>Every case.</summary>
    public static IReadOnlyList<Case> Cases => All;
}
