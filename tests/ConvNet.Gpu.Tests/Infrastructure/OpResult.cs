using Xunit;

namespace ConvNet.Gpu.Tests.Infrastructure;

/// <summary>
/// The downloaded outputs of one op run, by name. Adding an output checks that every element was written: suites poison
/// outputs with NaN (float32) or <see cref="int.MinValue"/> (int32) before the run.
/// </summary>
public sealed class OpResult
{
    private readonly Dictionary<string, Output> _outputs = [];

    /// <summary>One named output: its shape, how it is compared, and its values (float32 bits kept for bitwise checks).</summary>
    public sealed record Output(string Name, TensorShape Shape, OpKind Kind, float[]? Floats, int[]? Ints)
    {
        /// <summary>The values widened to float64.</summary>
        public double[] AsDoubles() => Floats is not null ? Array.ConvertAll(Floats, f => (double)f) : Array.ConvertAll(Ints!, i => (double)i);
    }

    /// <summary>The outputs in the order they were added.</summary>
    public IEnumerable<Output> Outputs => _outputs.Values;

    /// <summary>The output called <paramref name="name"/>.</summary>
    public Output this[string name] => _outputs[name];

    /// <summary>Downloads <paramref name="t"/> as output <paramref name="name"/>; <paramref name="mayBeNonFinite"/> skips the written check.</summary>
    public OpResult Add(string name, Tensor t, OpKind kind, bool mayBeNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.DataType == DataType.Int32)
        {
            var ints = t.ToInt32Array();
            int at = Array.IndexOf(ints, int.MinValue);
            if (at >= 0) Assert.Fail($"{name}: int32 element [{at}]{TensorAssert.Where(at, t.Shape)} was never written (poisoned with int.MinValue).");
            _outputs.Add(name, new Output(name, t.Shape, kind, null, ints));
        }
        else
        {
            var floats = t.ToArray();
            if (!mayBeNonFinite) TensorAssert.AllWritten(floats, t.Shape, name);
            _outputs.Add(name, new Output(name, t.Shape, kind, floats, null));
        }
        return this;
    }
}
