using System.Text;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Layout of a checkpoint file, format version 1. Every integer is little-endian.
/// <code>
/// header, 32 bytes
///   0   8  magic "CNGPUCKP"
///   8   4  u32 format version (1)
///  12   4  u32 flags (0; a reader rejects bits it does not know)
///  16   8  u64 body length B (the file is exactly 32 + B bytes)
///  24   4  u32 CRC-32C of the body (bytes 32 .. 32+B)
///  28   4  u32 CRC-32C of header bytes 0..27
/// body
///   string kind                      string = u32 byte length + UTF-8 bytes
///   u32 section count
///   section table, one entry per section, sorted by (type, name):
///     u8 type (1 metadata, 2 tensor, 3 blob), string name,
///     u8 rank and rank × u32 dimensions (tensors only; rank 0 otherwise),
///     u64 data offset (from the start of the file; a multiple of 64), u64 data length
///   zero padding, then each section's data at its 64-byte-aligned offset:
///     metadata: the UTF-8 value; tensor: float32 values, row-major; blob: the bytes
/// </code>
/// Sorting makes the bytes a pure function of the content; alignment lets a reader map tensors in place.
/// </summary>
internal static class CheckpointFileFormat
{
    public const int HeaderSize = 32;
    public const int DataAlignment = 64;
    public const int BodyChecksumOffset = 24;
    public const int HeaderChecksumOffset = 28;
    public const uint NoFlags = 0;

    public static ReadOnlySpan<byte> Magic => "CNGPUCKP"u8;

    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static long Align(long offset) => (offset + DataAlignment - 1) / DataAlignment * DataAlignment;
}

/// <summary>The kind of data a checkpoint section holds (stored as one byte).</summary>
internal enum CheckpointSectionType : byte
{
    Metadata = 1,
    Tensor = 2,
    Blob = 3,
}
