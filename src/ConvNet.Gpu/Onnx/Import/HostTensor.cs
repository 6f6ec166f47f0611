using System.Buffers.Binary;
using ConvNet.Gpu.Onnx.Protos;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>
/// A constant the importer knows on the host: an initializer, a Constant node's value, or a folded shape computation.
/// Floating-point tensors hold float32 values, integer and boolean tensors int64 values (exactly one of the two is set).
/// </summary>
internal sealed class HostTensor
{
    private HostTensor(long[] dims, float[]? floats, long[]? ints)
    {
        Dims = dims;
        Floats = floats;
        Ints = ints;
    }

    /// <summary>The dimensions (empty for a scalar).</summary>
    public long[] Dims { get; }

    /// <summary>The values of a float tensor, row-major; null for an integer tensor.</summary>
    public float[]? Floats { get; }

    /// <summary>The values of an integer or boolean tensor, row-major; null for a float tensor.</summary>
    public long[]? Ints { get; }

    /// <summary>Whether the values are floats.</summary>
    public bool IsFloat => Floats is not null;

    /// <summary>The element count.</summary>
    public long Count => IsFloat ? Floats!.Length : Ints!.Length;

    public static HostTensor Float(long[] dims, float[] values) => new(dims, values, null);

    public static HostTensor Int(long[] dims, long[] values) => new(dims, null, values);

    /// <summary>A 1-D int64 tensor.</summary>
    public static HostTensor Vector(params long[] values) => Int([values.Length], values);

    /// <summary>Reads a TensorProto: FLOAT (and DOUBLE, narrowed) as floats; INT64, INT32, INT8/16, UINT8/16 and BOOL as int64.</summary>
    public static HostTensor FromProto(TensorProto t, string source)
    {
        long[] dims = t.Dims.ToArray();
        switch ((TensorProto.Types.DataType)t.DataType)
        {
            case TensorProto.Types.DataType.Float:
                return Float(dims, OnnxTensors.ReadFloats(t, source));
            case TensorProto.Types.DataType.Int64:
            case TensorProto.Types.DataType.Int32:
                return Int(dims, OnnxTensors.ReadIntegers(t, source));
            case TensorProto.Types.DataType.Double:
                return Float(dims, ReadDoubles(t, source));
            case TensorProto.Types.DataType.Bool:
            case TensorProto.Types.DataType.Int8:
            case TensorProto.Types.DataType.Uint8:
            case TensorProto.Types.DataType.Int16:
            case TensorProto.Types.DataType.Uint16:
                return Int(dims, ReadSmallIntegers(t, source));
            default:
                throw new OnnxUnsupportedException(source, null, null, null,
                    $"constant '{t.Name}' has element type {OnnxTensors.TypeName(t.DataType)}; supported are FLOAT, DOUBLE and integer types.");
        }
    }

    private static float[] ReadDoubles(TensorProto t, string source)
    {
        int n = (int)OnnxTensors.ElementCount(t, source);
        var values = new float[n];
        if (t.HasRawData)
        {
            var raw = t.RawData.Span;
            if (raw.Length != (long)n * 8)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' needs {(long)n * 8} bytes of raw_data, found {raw.Length}.");
            for (int i = 0; i < n; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(i * 8, 8));
        }
        else
        {
            if (t.DoubleData.Count != n) throw new OnnxFormatException(source, $"tensor '{t.Name}' needs {n} double_data values, found {t.DoubleData.Count}.");
            for (int i = 0; i < n; i++) values[i] = (float)t.DoubleData[i];
        }
        return values;
    }

    // BOOL, INT8, UINT8, INT16, UINT16: one or two bytes each in raw_data, or one int32_data entry each.
    private static long[] ReadSmallIntegers(TensorProto t, string source)
    {
        int n = (int)OnnxTensors.ElementCount(t, source);
        var type = (TensorProto.Types.DataType)t.DataType;
        int width = type is TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 ? 2 : 1;
        var values = new long[n];
        if (t.HasRawData)
        {
            var raw = t.RawData.Span;
            if (raw.Length != (long)n * width)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' needs {(long)n * width} bytes of raw_data, found {raw.Length}.");
            for (int i = 0; i < n; i++)
                values[i] = type switch
                {
                    TensorProto.Types.DataType.Int8 => (sbyte)raw[i],
                    TensorProto.Types.DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw.Slice(i * 2, 2)),
                    TensorProto.Types.DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2, 2)),
                    _ => raw[i],
                };
        }
        else
        {
            if (t.Int32Data.Count != n) throw new OnnxFormatException(source, $"tensor '{t.Name}' needs {n} int32_data values, found {t.Int32Data.Count}.");
            for (int i = 0; i < n; i++) values[i] = t.Int32Data[i];
        }
        return values;
    }

    /// <summary>The dims as "[2, 3]" for messages.</summary>
    public string Shape => "[" + string.Join(", ", Dims) + "]";

    /// <summary>A short description for messages: type, shape and up to 8 values.</summary>
    public override string ToString()
    {
        string values = IsFloat ? string.Join(", ", Floats!.Take(8).Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))
            : string.Join(", ", Ints!.Take(8));
        return $"{(IsFloat ? "float" : "int")} {Shape} [{values}{(Count > 8 ? ", ..." : "")}]";
    }
}
