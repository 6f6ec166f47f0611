namespace ConvNet.Gpu.Data;

/// <summary>Converts 8-bit pixels to floats in [0, 1].</summary>
internal static class PixelScaling
{
    // byte / 255f for every byte value, computed once: the conversion loop is then one load per pixel.
    private static readonly float[] UnitTable = BuildTable();

    /// <summary>Returns a new array with every byte b mapped to b / 255f (correctly rounded, so exact for 0 and 255).</summary>
    public static float[] ToUnitRange(byte[] bytes)
    {
        var result = GC.AllocateUninitializedArray<float>(bytes.Length);
        ReadOnlySpan<float> table = UnitTable;
        ReadOnlySpan<byte> src = bytes;
        Span<float> dst = result;
        for (int i = 0; i < src.Length; i++) dst[i] = table[src[i]];
        return result;
    }

    /// <summary>Writes b / 255f for every byte of <paramref name="bytes"/> into <paramref name="destination"/> (same length).</summary>
    public static void ToUnitRange(ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        ReadOnlySpan<float> table = UnitTable;
        destination = destination[..bytes.Length];
        for (int i = 0; i < bytes.Length; i++) destination[i] = table[bytes[i]];
    }

    private static float[] BuildTable()
    {
        var table = new float[256];
        for (int i = 0; i < 256; i++) table[i] = i / 255f;
        return table;
    }
}
