using System.Buffers.Binary;
using ConvNet.Gpu.Onnx.Protos;
using Google.Protobuf;

namespace ConvNet.Gpu.Onnx;

/// <summary>
/// Converts between host arrays and ONNX TensorProto. Writing always uses raw_data (little-endian, fixed width, the
/// layout ONNX Runtime and PyTorch write); reading accepts raw_data or the typed *_data fields, and checks that the
/// element count matches the dims before anything is allocated from them.
/// </summary>
internal static class OnnxTensors
{
    /// <summary>A float32 tensor named <paramref name="name"/> with <paramref name="dims"/> (row-major values).</summary>
    public static TensorProto Float(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        CheckCount(name, dims, values.Length);
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        foreach (long d in dims) t.Dims.Add(d);
        return t;
    }

    /// <summary>An int64 tensor (shapes, pads, axes) named <paramref name="name"/>.</summary>
    public static TensorProto Int64(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        CheckCount(name, dims, values.Length);
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(bytes) };
        foreach (long d in dims) t.Dims.Add(d);
        return t;
    }

    private static void CheckCount(string name, ReadOnlySpan<long> dims, int count)
    {
        long expected = 1;
        foreach (long d in dims) expected *= d;
        if (expected != count)
            throw new InvalidOperationException($"ONNX tensor '{name}': dims [{string.Join(", ", dims.ToArray())}] hold {expected} elements, got {count}.");
    }

    /// <summary>The element count the dims describe; a negative dim or an overflow is a format error.</summary>
    public static long ElementCount(TensorProto t, string source)
    {
        long n = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0) throw new OnnxFormatException(source, $"tensor '{t.Name}' has a negative dimension in dims [{string.Join(", ", t.Dims)}].");
            n = checked(n * d);
            if (n > int.MaxValue) throw new OnnxFormatException(source, $"tensor '{t.Name}' with dims [{string.Join(", ", t.Dims)}] has more than {int.MaxValue} elements.");
        }
        return n;
    }

    /// <summary>The name of an ONNX element type, for messages.</summary>
    public static string TypeName(int dataType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), dataType) ? ((TensorProto.Types.DataType)dataType).ToString().ToUpperInvariant() : $"type {dataType}";

    /// <summary>
    /// The values of a FLOAT tensor. Other types are <see cref="OnnxUnsupportedException"/> (the importer trains in
    /// float32 only); a data length that does not match the dims, external or segmented data are format errors.
    /// </summary>
    public static float[] ReadFloats(TensorProto t, string source)
    {
        CheckInline(t, source);
        int n = (int)ElementCount(t, source);
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new OnnxUnsupportedException(source, null, null, null,
                $"tensor '{t.Name}' has element type {TypeName(t.DataType)}; weights must be FLOAT (float32).");
        var values = new float[n];
        if (t.HasRawData)
        {
            var raw = t.RawData.Span;
            if (raw.Length != (long)n * 4)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' with dims [{string.Join(", ", t.Dims)}] needs {(long)n * 4} bytes of raw_data, found {raw.Length}.");
            for (int i = 0; i < n; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
        }
        else
        {
            if (t.FloatData.Count != n)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' with dims [{string.Join(", ", t.Dims)}] needs {n} float_data values, found {t.FloatData.Count}.");
            t.FloatData.CopyTo(values, 0);
        }
        return values;
    }

    /// <summary>The values of an INT64 or INT32 tensor (shapes, pads, axes, sizes) as int64.</summary>
    public static long[] ReadIntegers(TensorProto t, string source)
    {
        CheckInline(t, source);
        int n = (int)ElementCount(t, source);
        var values = new long[n];
        bool is64 = t.DataType == (int)TensorProto.Types.DataType.Int64;
        if (!is64 && t.DataType != (int)TensorProto.Types.DataType.Int32)
            throw new OnnxUnsupportedException(source, null, null, null,
                $"tensor '{t.Name}' has element type {TypeName(t.DataType)} where INT64 (or INT32) is expected.");
        int width = is64 ? 8 : 4;
        if (t.HasRawData)
        {
            var raw = t.RawData.Span;
            if (raw.Length != (long)n * width)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' with dims [{string.Join(", ", t.Dims)}] needs {(long)n * width} bytes of raw_data, found {raw.Length}.");
            for (int i = 0; i < n; i++)
                values[i] = is64 ? BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8, 8)) : BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * 4, 4));
        }
        else
        {
            int count = is64 ? t.Int64Data.Count : t.Int32Data.Count;
            if (count != n)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' with dims [{string.Join(", ", t.Dims)}] needs {n} {(is64 ? "int64_data" : "int32_data")} values, found {count}.");
            for (int i = 0; i < n; i++) values[i] = is64 ? t.Int64Data[i] : t.Int32Data[i];
        }
        return values;
    }

    private static void CheckInline(TensorProto t, string source)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
            throw new OnnxUnsupportedException(source, null, null, null,
                $"tensor '{t.Name}' keeps its data in an external file; save the model with its weights inside (onnx.save_model(..., save_as_external_data=False)).");
        if (t.HasSegment)
            throw new OnnxUnsupportedException(source, null, null, null, $"tensor '{t.Name}' is stored in segments, which is not supported.");
    }
}
