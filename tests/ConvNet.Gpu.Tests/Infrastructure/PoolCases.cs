using Xunit;

namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>The pooling shape table: non-overlapping and overlapping windows, padding, ceil mode, count_include_pad, rectangles, batch 1.</summary>
public static class PoolCases
{
    /// <summary>One pooling case.</summary>
    public sealed record Case(string Name, int N, int C, int H, int W, Pool2dSpec Spec)
    {
        /// <summary>The resolved geometry.</summary>
        public Pool2dGeometry Geometry => Spec.Resolve(TensorShape.Nchw(N, C, H, W));

        /// <summary>A larger case, left out of the element-by-element gradient checks.</summary>
        public bool Medium { get; init; }
    }

    private static readonly Case[] All =
    [
        new("k2_s2", 2, 3, 6, 6, Pool2dSpec.Square(2)),
        new("k2_s2_odd_floor", 1, 3, 7, 5, Pool2dSpec.Square(2)),
        new("k3_s2_overlap", 2, 2, 5, 5, Pool2dSpec.Square(3, 2)),
        new("k3_s1_pad1", 1, 2, 5, 6, Pool2dSpec.Square(3, 1, padding: 1)),
        new("k3_s2_ceil", 2, 2, 6, 7, Pool2dSpec.Square(3, 2, ceilMode: true)),
        new("k3_s2_pad1_ceil", 1, 3, 5, 6, Pool2dSpec.Square(3, 2, padding: 1, ceilMode: true)),
        new("k2_s2_pad1_ceil_exclude_pad", 1, 2, 5, 5, new Pool2dSpec(2, 2, 2, 2, 1, 1, ceilMode: true, countIncludePadding: false)),
        new("k3_s2_pad1_exclude_pad", 2, 2, 7, 6, new Pool2dSpec(3, 3, 2, 2, 1, 1, countIncludePadding: false)),
        new("rect_k2x3_s1x2_pad1", 1, 2, 5, 7, new Pool2dSpec(2, 3, 1, 2, 1, 1)),
        new("k_eq_input", 2, 2, 4, 4, Pool2dSpec.Square(4)),
        new("k3_s3_stride_eq_kernel", 1, 1, 9, 8, Pool2dSpec.Square(3)),
        new("medium_k3_s2_pad1_ceil", 2, 5, 33, 35, Pool2dSpec.Square(3, 2, padding: 1, ceilMode: true)) { Medium = true },
    ];

    private static readonly Dictionary<string, Case> ByName = All.ToDictionary(c => c.Name);

    /// <summary>Every case name, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Names => new(All.Select(c => c.Name));

    /// <summary>The small cases only: the gradient checks perturb every element of them.</summary>
    public static TheoryData<string> SmallNames => new(All.Where(c => !c.Medium).Select(c => c.Name));

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static Case Get(string name) => ByName[name];
}
