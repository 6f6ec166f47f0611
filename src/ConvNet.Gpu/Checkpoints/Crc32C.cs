using System.Buffers.Binary;
using System.Numerics;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and LevelDB. Built on
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>, which uses the SSE4.2 / ARMv8 CRC instructions when present.
/// Check value: CRC-32C("123456789") = 0xE3069283.
/// </summary>
internal static class Crc32C
{
    /// <summary>The running state before any byte: all ones (pre-inversion).</summary>
    public const uint InitialState = 0xFFFFFFFFu;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(InitialState, data));

    /// <summary>Feeds <paramref name="data"/> into a running state started at <see cref="InitialState"/>.</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) state = BitOperations.Crc32C(state, b);
        return state;
    }

    /// <summary>The checksum of a running state (final inversion).</summary>
    public static uint Finish(uint state) => ~state;
}
