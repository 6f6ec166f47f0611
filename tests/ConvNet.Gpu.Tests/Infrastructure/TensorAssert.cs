using System.Globalization;
using System.Text;
using Xunit;

namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// The one tensor comparison helper (testing.md, "Comparing tensors"; modelled on llm.c's <c>validate_result</c>).
/// <see cref="Close(ReadOnlySpan{float}, ReadOnlySpan{double}, Tolerance, TensorShape?, string?)"/> checks the length
/// (and shape, for tensors) first, then |a - e| &lt;= atol + rtol*|e| element-wise; NaN never passes, and an infinity passes
/// only against the same infinity. A failure reports how many elements differ, the max absolute and relative errors with
/// their flat and multi-dimensional indices, and the first few mismatching pairs.
/// <see cref="Equal(ReadOnlySpan{float}, ReadOnlySpan{float}, TensorShape?, string?)"/> compares float bit patterns:
/// +0 and -0 differ, and two NaNs are equal only with the same payload.
/// </summary>
public static class TensorAssert
{
    private const int MismatchesShown = 8;

    /// <summary>Float32 results against float64 expectations.</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, Tolerance tol, TensorShape? shape = null, string? what = null)
    {
        var a = new double[actual.Length];
        for (int i = 0; i < a.Length; i++) a[i] = actual[i];
        Close(a, expected, tol, shape, what);
    }

    /// <summary>Float32 results against float32 expectations (e.g. CUDA against CPU).</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, Tolerance tol, TensorShape? shape = null, string? what = null)
    {
        var a = new double[actual.Length];
        var e = new double[expected.Length];
        for (int i = 0; i < a.Length; i++) a[i] = actual[i];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        Close(a, e, tol, shape, what);
    }

    /// <summary>A tensor against host expectations; the element count must match the tensor's.</summary>
    public static void Close(Tensor actual, ReadOnlySpan<double> expected, Tolerance tol, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(actual);
        Close(actual.ToArray(), expected, tol, actual.Shape, what);
    }

    /// <summary>Two tensors (possibly on different backends): dimensions first, then values.</summary>
    public static void Close(Tensor actual, Tensor expected, Tolerance tol, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        if (!actual.Shape.SameDimensions(expected.Shape))
            Assert.Fail($"{Label(what)}shape mismatch: actual {actual.Shape}, expected {expected.Shape}.");
        Close(actual.ToArray(), expected.ToArray(), tol, actual.Shape, what);
    }

    /// <summary>The core comparison, in float64 (also used by the reference's own tests).</summary>
    public static void Close(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, Tolerance tol, TensorShape? shape = null, string? what = null)
    {
        CheckLength(actual.Length, expected.Length, shape, what);
        int bad = 0, maxAbsAt = -1, maxRelAt = -1;
        double maxAbs = 0, maxRel = 0;
        var shown = new StringBuilder();
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            bool ok;
            double abs, rel;
            if (double.IsNaN(a) || double.IsNaN(e)) { ok = false; abs = rel = double.PositiveInfinity; }
            else if (double.IsInfinity(a) || double.IsInfinity(e)) { ok = a == e; abs = rel = ok ? 0 : double.PositiveInfinity; }
            else
            {
                abs = Math.Abs(a - e);
                rel = abs / Math.Max(Math.Abs(e), double.Epsilon);
                ok = abs <= tol.Atol + tol.Rtol * Math.Abs(e);
            }
            if (abs > maxAbs || maxAbsAt < 0) { maxAbs = abs; maxAbsAt = i; }
            if (!ok && (rel > maxRel || maxRelAt < 0)) { maxRel = rel; maxRelAt = i; }
            if (!ok)
            {
                if (bad < MismatchesShown)
                    shown.Append(CultureInfo.InvariantCulture, $"\n  [{i}]{Where(i, shape)}: actual {a:R}, expected {e:R}, |diff| {abs:G3}");
                bad++;
            }
        }
        if (bad == 0) return;
        Assert.Fail(
            $"{Label(what)}{bad} of {actual.Length} elements differ beyond {tol}{(shape is null ? "" : $" (shape {shape})")}.\n" +
            $"  max abs err {maxAbs:G4} at [{maxAbsAt}]{Where(maxAbsAt, shape)}; max rel err among failures {maxRel:G4} at [{maxRelAt}]{Where(maxRelAt, shape)}.\n" +
            $"  first mismatches:{shown}");
    }

    /// <summary>Bitwise equality of float32 values (+0 and -0 differ; NaN equals NaN only with the same bits).</summary>
    public static void Equal(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, TensorShape? shape = null, string? what = null)
    {
        CheckLength(actual.Length, expected.Length, shape, what);
        int bad = 0, first = -1;
        var shown = new StringBuilder();
        for (int i = 0; i < actual.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) == BitConverter.SingleToInt32Bits(expected[i])) continue;
            if (first < 0) first = i;
            if (bad < MismatchesShown)
                shown.Append(CultureInfo.InvariantCulture,
                    $"\n  [{i}]{Where(i, shape)}: actual {actual[i]:R} (0x{BitConverter.SingleToInt32Bits(actual[i]):X8}), expected {expected[i]:R} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8})");
            bad++;
        }
        if (bad > 0)
            Assert.Fail($"{Label(what)}{bad} of {actual.Length} elements are not bit-identical{(shape is null ? "" : $" (shape {shape})")}; first at [{first}]{Where(first, shape)}:{shown}");
    }

    /// <summary>Bitwise equality of float32 results against float64 expectations that must be exactly representable.</summary>
    public static void Equal(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, TensorShape? shape = null, string? what = null)
    {
        var e = new float[expected.Length];
        for (int i = 0; i < e.Length; i++)
        {
            e[i] = (float)expected[i];
            if (e[i] != expected[i] && !double.IsNaN(expected[i]))
                throw new InvalidOperationException($"{Label(what)}expected value {expected[i]:R} at [{i}] is not a float32; use Close.");
        }
        Equal(actual, e, shape, what);
    }

    /// <summary>Exact equality of int32 values (argmax masks, labels).</summary>
    public static void Equal(ReadOnlySpan<int> actual, ReadOnlySpan<int> expected, TensorShape? shape = null, string? what = null)
    {
        CheckLength(actual.Length, expected.Length, shape, what);
        int bad = 0, first = -1;
        var shown = new StringBuilder();
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] == expected[i]) continue;
            if (first < 0) first = i;
            if (bad < MismatchesShown) shown.Append(CultureInfo.InvariantCulture, $"\n  [{i}]{Where(i, shape)}: actual {actual[i]}, expected {expected[i]}");
            bad++;
        }
        if (bad > 0)
            Assert.Fail($"{Label(what)}{bad} of {actual.Length} int32 elements differ{(shape is null ? "" : $" (shape {shape})")}; first at [{first}]{Where(first, shape)}:{shown}");
    }

    /// <summary>Fails unless every element is finite: outputs are poisoned with NaN, so a NaN left means an element was never written.</summary>
    public static void AllWritten(ReadOnlySpan<float> values, TensorShape? shape = null, string? what = null)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                Assert.Fail($"{Label(what)}element [{i}]{Where(i, shape)} is {values[i]}: the op did not write it (outputs are poisoned with NaN before each run) or produced a non-finite value.");
    }

    /// <summary>Row-major multi-index of flat index <paramref name="flat"/>, e.g. " (N=0, C=1, H=2, W=3)".</summary>
    public static string Where(int flat, TensorShape? shape)
    {
        if (shape is null || flat < 0 || flat >= shape.ElementCount) return "";
        var idx = new int[shape.Rank];
        long rest = flat;
        for (int d = shape.Rank - 1; d >= 0; d--)
        {
            idx[d] = (int)(rest % shape[d]);
            rest /= shape[d];
        }
        var sb = new StringBuilder(" (");
        for (int d = 0; d < idx.Length; d++)
        {
            if (d > 0) sb.Append(", ");
            sb.Append(shape.NameOf(d)).Append('=').Append(idx[d]);
        }
        return sb.Append(')').ToString();
    }

    private static void CheckLength(int actual, int expected, TensorShape? shape, string? what)
    {
        if (actual != expected)
            Assert.Fail($"{Label(what)}length mismatch: actual has {actual} elements, expected {expected}{(shape is null ? "" : $" (shape {shape} has {shape.ElementCount})")}.");
        if (shape is not null && shape.ElementCount != actual)
            Assert.Fail($"{Label(what)}length mismatch: {actual} elements but shape {shape} has {shape.ElementCount}.");
    }

    private static string Label(string? what) => string.IsNullOrEmpty(what) ? "" : what + ": ";
}
