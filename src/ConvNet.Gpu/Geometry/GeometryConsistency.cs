namespace ConvNet.Gpu;

/// <summary>
/// Checks that a geometry record is self-consistent. Geometries normally come from <see cref="Conv2dSpec.Resolve"/> or
/// <see cref="Pool2dSpec.Resolve"/>, but the records are public and can be edited with <c>with</c>; every backend op
/// re-checks them so that a hand-made inconsistent geometry fails with a clear message instead of computing garbage.
/// </summary>
internal static class GeometryConsistency
{
    public static void Check(string op, Conv2dGeometry g)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.K < 1 || g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 ||
            g.DH < 1 || g.DW < 1 || g.Groups < 1 || g.OH < 1 || g.OW < 1)
            throw new InvalidGeometryException($"{op}: every size, stride and dilation must be positive in {g}.");
        if (g.PadTop < 0 || g.PadBottom < 0 || g.PadLeft < 0 || g.PadRight < 0)
            throw new InvalidGeometryException($"{op}: negative padding is not supported: {g}.");
        if (g.C % g.Groups != 0 || g.K % g.Groups != 0)
            throw new InvalidGeometryException($"{op}: groups={g.Groups} must divide C={g.C} and K={g.K}: {g}.");
        int ekh = Conv2dSpec.EffectiveKernel(g.KH, g.DH), ekw = Conv2dSpec.EffectiveKernel(g.KW, g.DW);
        int ph = g.H + g.PadTop + g.PadBottom, pw = g.W + g.PadLeft + g.PadRight;
        int oh = Conv2dSpec.OutputSize(ph, ekh, g.SH), ow = Conv2dSpec.OutputSize(pw, ekw, g.SW);
        if (oh != g.OH || ow != g.OW)
            throw new InvalidGeometryException(
                $"{op}: inconsistent geometry: OH x OW = {g.OH} x {g.OW}, but the sizes give {oh} x {ow} " +
                $"(padded input {ph} x {pw}, effective kernel {ekh} x {ekw}, stride ({g.SH}, {g.SW})); build geometries with Conv2dSpec.Resolve.");
    }

    public static void Check(string op, Pool2dGeometry g)
    {
        ArgumentNullException.ThrowIfNull(g);
        if (g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.OH < 1 || g.OW < 1)
            throw new InvalidGeometryException($"{op}: every size and stride must be positive in {g}.");
        if (g.PadH < 0 || g.PadW < 0 || g.PadH > g.KH / 2 || g.PadW > g.KW / 2)
            throw new InvalidGeometryException($"{op}: pad should be at most half of kernel size, but got pad=({g.PadH}, {g.PadW}) and kernel_size=({g.KH}, {g.KW}).");
        if (!Fits(g.H, g.KH, g.SH, g.PadH, g.OH) || !Fits(g.W, g.KW, g.SW, g.PadW, g.OW))
            throw new InvalidGeometryException(
                $"{op}: inconsistent geometry: OH x OW = {g.OH} x {g.OW} does not follow from {g}; build geometries with Pool2dSpec.Resolve.");
    }

    // The output size must be the floor-mode or the ceil-mode size for this axis.
    private static bool Fits(int x, int k, int s, int p, int o) =>
        o == Pool2dSpec.OutputSize(x, k, s, p, ceilMode: false) || o == Pool2dSpec.OutputSize(x, k, s, p, ceilMode: true);
}
